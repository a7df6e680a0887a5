import { Button, Group, List, Modal, NumberInput, Select, Stack, Text, TextInput } from "@mantine/core";
import { type FormEvent, useMemo, useState } from "react";
import { api, fieldError, seg } from "../api";
import { CODE_INPUT, FormError, notifySuccess } from "../components";
import { dateTime } from "../format";
import type { Schedule } from "../types";

type Frequency = "10" | "15" | "30" | "60" | "daily" | "weekly" | "monthly" | "cron";

const FREQUENCIES: { value: Frequency; label: string }[] = [
  { value: "10", label: "Every 10 minutes" },
  { value: "15", label: "Every 15 minutes" },
  { value: "30", label: "Every 30 minutes" },
  { value: "60", label: "Hourly" },
  { value: "daily", label: "Daily" },
  { value: "weekly", label: "Weekly" },
  { value: "monthly", label: "Monthly" },
  { value: "cron", label: "Cron expression" },
];

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

interface Form {
  frequency: Frequency;
  time: string;
  weekday: string;
  monthDay: number;
  cron: string;
  timeZone: string;
}

const pad = (n: string) => n.padStart(2, "0");

/** The dialog's fields for an existing schedule: the simple forms are recognised from the cron. */
function initialForm(schedule: Schedule | null): Form {
  const form: Form = {
    frequency: "daily",
    time: "02:00",
    weekday: "monday",
    monthDay: 1,
    cron: schedule?.cron ?? "0 2 * * *",
    timeZone: schedule?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC",
  };
  if (!schedule) return form;
  const [minute = "", hour = "", dom = "", month = "", dow = ""] = schedule.cron.trim().split(/\s+/);
  const every = /^\*\/(10|15|30)$/.exec(minute);
  const fixed = /^\d+$/.test(minute) && /^\d+$/.test(hour);
  if (every && hour === "*" && dom === "*" && month === "*" && dow === "*") {
    form.frequency = every[1] as Frequency;
  } else if (minute === "0" && hour === "*" && dom === "*" && month === "*" && dow === "*") {
    form.frequency = "60";
  } else if (fixed && month === "*" && dom === "*" && dow === "*") {
    form.frequency = "daily";
    form.time = `${pad(hour)}:${pad(minute)}`;
  } else if (fixed && month === "*" && dom === "*" && /^[0-6]$/.test(dow)) {
    form.frequency = "weekly";
    form.time = `${pad(hour)}:${pad(minute)}`;
    form.weekday = WEEKDAYS[(Number(dow) + 6) % 7] ?? "monday";
  } else if (fixed && month === "*" && /^\d+$/.test(dom) && dow === "*") {
    form.frequency = "monthly";
    form.time = `${pad(hour)}:${pad(minute)}`;
    form.monthDay = Number(dom);
  } else {
    form.frequency = "cron";
  }
  return form;
}

function requestBody(form: Form): Record<string, unknown> {
  const timeZone = form.timeZone;
  switch (form.frequency) {
    case "daily":
      return { daily: form.time, timeZone };
    case "weekly":
      return { weekly: { day: form.weekday, time: form.time }, timeZone };
    case "monthly":
      return { monthly: { day: form.monthDay, time: form.time }, timeZone };
    case "cron":
      return { cron: form.cron.trim(), timeZone };
    default:
      return { every: Number(form.frequency), timeZone };
  }
}

function timeZones(): string[] {
  const zones = Intl.supportedValuesOf("timeZone");
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

export function ScheduleDialog({
  job,
  schedule,
  opened,
  onClose,
  onSaved,
}: {
  job: string;
  schedule: Schedule | null;
  opened: boolean;
  onClose: () => void;
  onSaved: () => void;
}) {
  return (
    <Modal opened={opened} onClose={onClose} title="Configure schedule" size="lg">
      {opened && <ScheduleForm job={job} schedule={schedule} onSaved={onSaved} onClose={onClose} />}
    </Modal>
  );
}

function ScheduleForm({
  job,
  schedule,
  onSaved,
  onClose,
}: {
  job: string;
  schedule: Schedule | null;
  onSaved: () => void;
  onClose: () => void;
}) {
  const [form, setForm] = useState(() => initialForm(schedule));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [nextRuns, setNextRuns] = useState<string[]>();
  const zones = useMemo(timeZones, []);
  const set = (patch: Partial<Form>) => setForm((f) => ({ ...f, ...patch }));
  const needsTime = form.frequency === "daily" || form.frequency === "weekly" || form.frequency === "monthly";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const saved = await api.put<{ schedule: Schedule; nextRuns: string[] }>(
        `/api/jobs/${seg(job)}/schedule`,
        requestBody(form),
      );
      setNextRuns(saved.nextRuns);
      notifySuccess(saved.schedule.description, "Schedule saved");
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <FormError error={error} />
        <Select
          label="Run"
          data={FREQUENCIES}
          value={form.frequency}
          onChange={(v) => v && set({ frequency: v as Frequency })}
          allowDeselect={false}
          data-autofocus
        />
        {form.frequency === "weekly" && (
          <Select
            label="Day of the week"
            data={WEEKDAYS.map((d) => ({ value: d, label: d[0]?.toUpperCase() + d.slice(1) }))}
            value={form.weekday}
            onChange={(v) => v && set({ weekday: v })}
            allowDeselect={false}
          />
        )}
        {form.frequency === "monthly" && (
          <NumberInput
            label="Day of the month"
            description="Months without this day skip the run"
            min={1}
            max={31}
            value={form.monthDay}
            onChange={(v) => set({ monthDay: Number(v) || 1 })}
            error={fieldError(error, "monthly.day")}
          />
        )}
        {needsTime && (
          <TextInput
            type="time"
            label="Time"
            required
            value={form.time}
            onChange={(e) => set({ time: e.currentTarget.value })}
            error={fieldError(error, form.frequency) ?? fieldError(error, `${form.frequency}.time`)}
          />
        )}
        {form.frequency === "cron" && (
          <TextInput
            label="Cron expression"
            description="minute hour day-of-month month day-of-week, e.g. 0 */2 * * *"
            required
            value={form.cron}
            onChange={(e) => set({ cron: e.currentTarget.value })}
            error={fieldError(error, "cron")}
            classNames={CODE_INPUT}
          />
        )}
        <Select
          label="Time zone"
          data={zones}
          value={form.timeZone}
          onChange={(v) => v && set({ timeZone: v })}
          searchable
          allowDeselect={false}
          error={fieldError(error, "timeZone")}
        />
        {nextRuns && (
          <div>
            <Text fw={600} size="sm">
              Next runs
            </Text>
            <List size="sm">
              {nextRuns.map((at) => (
                <List.Item key={at}>{dateTime(at, form.timeZone)}</List.Item>
              ))}
            </List>
          </div>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {nextRuns ? "Close" : "Cancel"}
          </Button>
          <Button type="submit" loading={busy}>
            Save schedule
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
