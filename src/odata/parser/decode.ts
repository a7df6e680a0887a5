import { badRequest } from "../errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

const hexValue = (code: number): number => {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
};

/**
 * Percent-decodes one query-option name or value. `+` stays a plus: the OData ABNF uses it as the SIGN of
 * numbers and time-zone offsets, and form-style `+` for space would turn `10:00+02:00` into garbage.
 * NUL is refused because PostgreSQL text cannot hold it.
 */
export function decodeComponent(raw: string, target: string): string {
  const hash = raw.indexOf("#");
  if (hash >= 0) {
    // A real URL cannot carry it (it starts the fragment), so it signals a client that forgot to encode.
    throw badRequest(
      "InvalidEncoding",
      `${target}: unencoded '#' at position ${hash + 1}; write %23`,
      target,
    );
  }
  if (!raw.includes("%")) return checkNul(raw, target);
  let out = "";
  let i = 0;
  while (i < raw.length) {
    const percent = raw.indexOf("%", i);
    if (percent < 0) {
      out += raw.slice(i);
      break;
    }
    out += raw.slice(i, percent);
    const bytes: number[] = [];
    let j = percent;
    while (j < raw.length && raw.charCodeAt(j) === 0x25) {
      const high = hexValue(raw.charCodeAt(j + 1));
      const low = hexValue(raw.charCodeAt(j + 2));
      if (high < 0 || low < 0) {
        throw badRequest(
          "InvalidEncoding",
          `${target}: malformed percent-encoding '${raw.slice(j, j + 3)}' at position ${j + 1}`,
          target,
        );
      }
      bytes.push(high * 16 + low);
      j += 3;
    }
    try {
      out += utf8.decode(Uint8Array.from(bytes));
    } catch {
      throw badRequest(
        "InvalidEncoding",
        `${target}: percent-encoded bytes at position ${percent + 1} are not valid UTF-8`,
        target,
      );
    }
    i = j;
  }
  return checkNul(out, target);
}

function checkNul(text: string, target: string): string {
  const nul = text.indexOf("\u0000");
  if (nul >= 0) {
    throw badRequest("InvalidEncoding", `${target}: NUL character at position ${nul + 1}`, target);
  }
  return text;
}
