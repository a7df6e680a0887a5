import { describe, expect, it } from "vitest";
import { checkTimeZone, nextRunTimes, parseSchedule } from "../../src/scheduler/schedules.js";

describe("parseSchedule", () => {
  it("turns every kind of schedule into a cron expression", () => {
    expect(parseSchedule({ every: "10m" })).toEqual({ cron: "*/10 * * * *", description: "every 10m" });
    expect(parseSchedule({ every: "15m" }).cron).toBe("*/15 * * * *");
    expect(parseSchedule({ every: "30M" }).cron).toBe("*/30 * * * *");
    expect(parseSchedule({ every: "1h" }).cron).toBe("0 * * * *");
    expect(parseSchedule({ daily: "02:05" })).toEqual({ cron: "5 2 * * *", description: "daily at 02:05" });
    expect(parseSchedule({ weekly: "mon 09:00" })).toEqual({
      cron: "0 9 * * 1",
      description: "weekly on Monday at 09:00",
    });
    expect(parseSchedule({ weekly: "Sunday 23:59" }).cron).toBe("59 23 * * 0");
    expect(parseSchedule({ monthly: "31 6:30" })).toEqual({
      cron: "30 6 31 * *",
      description: "monthly on day 31 at 06:30",
    });
    expect(parseSchedule({ cron: " 0  */4 * * 1-5 " })).toEqual({
      cron: "0 */4 * * 1-5",
      description: "cron 0 */4 * * 1-5",
    });
    expect(parseSchedule({ cron: "*/2 * * * * *" }).cron).toBe("*/2 * * * * *");
  });

  it("says what is wrong", () => {
    expect(() => parseSchedule({})).toThrow("Give exactly one of --every");
    expect(() => parseSchedule({ every: "10m", daily: "01:00" })).toThrow("(got --every, --daily)");
    expect(() => parseSchedule({ every: "5m" })).toThrow("--every takes 10m, 15m, 30m or 1h");
    expect(() => parseSchedule({ daily: "24:00" })).toThrow("--daily takes a time as HH:MM");
    expect(() => parseSchedule({ weekly: "mo 09:00" })).toThrow("--weekly takes a day (mon..sun)");
    expect(() => parseSchedule({ monthly: "32 09:00" })).toThrow("--monthly takes a day of the month");
    expect(() => parseSchedule({ cron: "* * *" })).toThrow("--cron takes 5 fields");
    expect(() => parseSchedule({ cron: "61 * * * *" })).toThrow("is not a valid cron expression");
    expect(() => checkTimeZone("Mars/Olympus")).toThrow('Unknown time zone "Mars/Olympus"');
    expect(checkTimeZone("Europe/Paris")).toBe("Europe/Paris");
  });
});

describe("nextRunTimes", () => {
  const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

  it("reads the schedule in its time zone", () => {
    const from = new Date("2026-01-15T12:00:00Z");
    expect(iso(nextRunTimes("0 9 * * *", "Europe/Paris", 2, from))).toEqual([
      "2026-01-16T08:00:00.000Z",
      "2026-01-17T08:00:00.000Z",
    ]);
    expect(iso(nextRunTimes("0 9 * * *", "America/New_York", 1, from))).toEqual(["2026-01-15T14:00:00.000Z"]);
    expect(iso(nextRunTimes("*/15 * * * *", "UTC", 3, from))).toEqual([
      "2026-01-15T12:15:00.000Z",
      "2026-01-15T12:30:00.000Z",
      "2026-01-15T12:45:00.000Z",
    ]);
  });

  it("keeps wall-clock times across daylight saving changes", () => {
    // Paris moves from UTC+1 to UTC+2 on 2026-03-29 and back on 2026-10-25.
    expect(iso(nextRunTimes("0 9 * * *", "Europe/Paris", 3, new Date("2026-03-27T12:00:00Z")))).toEqual([
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
    ]);
    // 02:30 does not exist on 2026-03-29: that day's run comes right after the gap, once.
    const spring = iso(nextRunTimes("30 2 * * *", "Europe/Paris", 3, new Date("2026-03-28T12:00:00Z")));
    expect(spring[0]).toBe("2026-03-29T01:00:00.000Z");
    expect(spring[1]).toBe("2026-03-30T00:30:00.000Z");
    // 02:30 happens twice on 2026-10-25: it runs once.
    const autumn = iso(nextRunTimes("30 2 * * *", "Europe/Paris", 2, new Date("2026-10-24T12:00:00Z")));
    expect(autumn).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
    // Monthly on the 31st skips the months without one.
    expect(iso(nextRunTimes("0 6 31 * *", "UTC", 2, new Date("2026-01-31T07:00:00Z")))).toEqual([
      "2026-03-31T06:00:00.000Z",
      "2026-05-31T06:00:00.000Z",
    ]);
  });
});
