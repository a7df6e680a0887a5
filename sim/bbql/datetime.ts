/**
 * ISO-8601 dates and datetimes as BBQL accepts them unquoted, and as Bitbucket serialises timestamps
 * (`2026-03-05T14:07:31.123456+00:00`). Instants are epoch microseconds, so Bitbucket's microsecond
 * timestamps compare exactly (a double holds them without loss until the year 2255).
 */

/** Shared by the lexer (sticky, inside a query) and by value parsing (anchored, whole string). */
const DATETIME_SOURCE = String.raw`(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?`;

export const DATETIME_STICKY = new RegExp(DATETIME_SOURCE, "y");
/** For tests: the whole-string form of the lexer's pattern, which parseIsoDatetime must agree with. */
export const DATETIME_WHOLE = new RegExp(`^${DATETIME_SOURCE}$`);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (valid for any year, unlike Date.UTC below 100). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** Converts a match of the datetime pattern to epoch microseconds, or undefined if a field is out of range. */
export function datetimeFromMatch(m: RegExpExecArray): number | undefined {
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] === undefined ? 0 : Number(`${m[7]}000000`.slice(0, 6));
  let offsetSeconds = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    offsetSeconds = (zone[0] === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  return toMicros(year, month, day, hour, minute, second, fraction, offsetSeconds);
}

/** The number in `length` ASCII digits at `start`, or -1 if any of them is not a digit. */
function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return -1; // also rejects NaN past the end
    value = value * 10 + digit;
  }
  return value;
}

const DASH = 45;
const COLON = 58;
const DOT = 46;
const PLUS = 43;

/**
 * Parses a whole string as an ISO-8601 date or datetime (UTC unless an offset is given) into epoch
 * microseconds; undefined when the string is not one. Digits beyond microseconds are truncated.
 * Accepts exactly what the BBQL lexer accepts, but scans by hand: this runs for every string value compared
 * against a datetime literal and for every sort comparison, where a regular expression is too slow.
 */
export function parseIsoDatetime(text: string): number | undefined {
  const length = text.length;
  if (length < 10 || text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  if (year < 0 || month < 0 || day < 0) return undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let fraction = 0;
  let offsetSeconds = 0;
  if (length > 10) {
    const t = text.charCodeAt(10);
    if ((t !== 84 && t !== 116) /* T t */ || length < 16 || text.charCodeAt(13) !== COLON) return undefined;
    hour = digitsAt(text, 11, 2);
    minute = digitsAt(text, 14, 2);
    if (hour < 0 || minute < 0) return undefined;
    let i = 16;
    if (text.charCodeAt(i) === COLON) {
      second = digitsAt(text, 17, 2);
      if (second < 0) return undefined;
      i = 19;
      if (text.charCodeAt(i) === DOT) {
        const start = ++i;
        let scale = 100_000;
        for (
          let digit = text.charCodeAt(i) - 48;
          digit >= 0 && digit <= 9;
          digit = text.charCodeAt(++i) - 48
        ) {
          fraction += digit * scale;
          scale = Math.floor(scale / 10);
        }
        if (i === start) return undefined;
      }
    }
    if (i < length) {
      const sign = text.charCodeAt(i);
      if (sign === 90 || sign === 122 /* Z z */) {
        if (i + 1 !== length) return undefined;
      } else if (sign === PLUS || sign === DASH) {
        const rest = length - i - 1;
        const offsetHours = digitsAt(text, i + 1, 2);
        let offsetMinutes = 0;
        if (rest === 5 && text.charCodeAt(i + 3) === COLON) offsetMinutes = digitsAt(text, i + 4, 2);
        else if (rest === 4) offsetMinutes = digitsAt(text, i + 3, 2);
        else if (rest !== 2) return undefined;
        if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) return undefined;
        offsetSeconds = (sign === DASH ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
      } else {
        return undefined;
      }
    }
  }
  return toMicros(year, month, day, hour, minute, second, fraction, offsetSeconds);
}

function toMicros(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction: number,
  offsetSeconds: number,
): number | undefined {
  if (month < 1 || month > 12 || day < 1) return undefined;
  const monthDays = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day > monthDays || hour > 23 || minute > 59 || second > 59) return undefined;
  const seconds =
    daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  return seconds * 1_000_000 + fraction;
}

/** Renders epoch microseconds as a UTC ISO string, with the fraction only when it is not zero. */
export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString();
  const fraction = `${iso.slice(20, 23)}${String(micros - ms * 1000).padStart(3, "0")}`.replace(/0+$/, "");
  return `${iso.slice(0, 19)}${fraction === "" ? "" : `.${fraction}`}Z`;
}
