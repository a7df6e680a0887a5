import {
  ActionIcon,
  Alert,
  Anchor,
  Breadcrumbs,
  Button,
  Checkbox,
  Code,
  Group,
  Stack,
  Table,
  Tabs,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError, api, errorMessage, fieldError, seg } from "../api";
import { CODE_INPUT, ErrorAlert, Loading, notifyError } from "../components";
import { useApi } from "../hooks";
import type { Job, SelectColumn, TaskModel } from "../types";

const SYNC_DELAY_MS = 400;

export function TaskEditorPage() {
  const params = useParams();
  const name = params.name ?? "";
  const position = Number(params.position);
  const job = useApi<Job>(`/api/jobs/${seg(name)}`);
  const task = job.data?.tasks.find((t) => t.position === position);

  return (
    <>
      <Breadcrumbs mb="sm">
        <Anchor component={Link} to="/jobs">
          Jobs
        </Anchor>
        <Anchor component={Link} to={`/jobs/${seg(name)}?tab=tasks`}>
          {name}
        </Anchor>
        <Text>Task {position}</Text>
      </Breadcrumbs>
      <ErrorAlert error={job.error} />
      {job.loading && !job.data && <Loading />}
      {job.data && !task && (
        <Alert color="red">
          Job {name} has no task {position}.
        </Alert>
      )}
      {job.data && task && (
        <Editor
          key={task.statement}
          job={job.data}
          position={position}
          statement={task.statement}
          onSaved={job.reload}
        />
      )}
    </>
  );
}

/**
 * The model (Columns and Query tabs) and the REPLICATE text are two views of one task: an edit of
 * either is sent to the server (format or parse) after a short pause and updates the other.
 */
function Editor({
  job,
  position,
  statement,
  onSaved,
}: {
  job: Job;
  position: number;
  statement: string;
  onSaved: () => void;
}) {
  const [model, setModel] = useState<TaskModel>();
  const [text, setText] = useState(statement);
  const [textError, setTextError] = useState<unknown>();
  const [loadError, setLoadError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const [tab, setTab] = useState("columns");
  // The sync waiting for the user to pause; it yields the statement that reflects the edit.
  const pending = useRef<{ timer: ReturnType<typeof setTimeout>; run: () => Promise<string> } | null>(null);
  // Answers can overtake each other: only the one for the latest request may change what is shown.
  const latest = useRef(0);

  const parse = useCallback(
    async (value: string) => {
      const request = ++latest.current;
      try {
        const parsed = await api.post<TaskModel>("/api/replicate/parse", {
          statement: value,
          source: job.source,
        });
        if (request === latest.current) {
          setModel(parsed);
          setTextError(undefined);
        }
        return value;
      } catch (e) {
        if (request === latest.current) setTextError(e);
        throw e;
      }
    },
    [job.source],
  );

  const format = useCallback(async (value: TaskModel) => {
    const request = ++latest.current;
    try {
      const formatted = await api.post<{ statement: string }>("/api/replicate/format", value);
      if (request === latest.current) {
        setText(formatted.statement);
        setTextError(undefined);
      }
      return formatted.statement;
    } catch (e) {
      if (request === latest.current) setTextError(e);
      throw e;
    }
  }, []);

  useEffect(() => {
    parse(statement).catch(setLoadError);
  }, [parse, statement]);

  const schedule = (run: () => Promise<string>) => {
    if (pending.current) clearTimeout(pending.current.timer);
    const entry = {
      run,
      timer: setTimeout(() => {
        if (pending.current === entry) pending.current = null;
        // Failures are shown under the statement (setTextError).
        run().catch(() => {});
      }, SYNC_DELAY_MS),
    };
    pending.current = entry;
  };

  const editModel = (next: TaskModel) => {
    setModel(next);
    schedule(() => format(next));
  };

  const editText = (value: string) => {
    setText(value);
    schedule(() => parse(value));
  };

  const save = async () => {
    setSaving(true);
    try {
      const waiting = pending.current;
      if (waiting) {
        clearTimeout(waiting.timer);
        pending.current = null;
      }
      const latest = waiting ? await waiting.run() : text;
      await api.put(`/api/jobs/${seg(job.name)}/tasks/${position}`, { statement: latest });
      notifications.show({ color: "green", message: `Task ${position} saved.` });
      onSaved();
    } catch (e) {
      notifyError(e, "Task not saved");
    } finally {
      setSaving(false);
    }
  };

  if (loadError) return <ErrorAlert error={loadError} title="Cannot read this task" />;
  if (!model) return <Loading label="Reading the task" />;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>
          Task {position}: {unquote(model.table)}
        </Title>
        <Button onClick={save} loading={saving}>
          Save task
        </Button>
      </Group>
      <Tabs value={tab} onChange={(v) => setTab(v ?? "columns")}>
        <Tabs.List>
          <Tabs.Tab value="columns">Columns</Tabs.Tab>
          <Tabs.Tab value="query">Query</Tabs.Tab>
          <Tabs.Tab value="statement">REPLICATE</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="columns" pt="md">
          <ColumnsTab model={model} error={textError} onChange={editModel} />
        </Tabs.Panel>
        <Tabs.Panel value="query" pt="md">
          <QueryTab model={model} error={textError} onChange={editModel} />
        </Tabs.Panel>
        <Tabs.Panel value="statement" pt="md">
          <StatementTab text={text} error={textError} onChange={editText} />
        </Tabs.Panel>
      </Tabs>
      {tab !== "statement" && (
        <div>
          <Text fw={600} size="sm" id="statement-preview-label">
            REPLICATE statement
          </Text>
          <Code block aria-labelledby="statement-preview-label" style={{ whiteSpace: "pre-wrap" }}>
            {text}
          </Code>
        </div>
      )}
    </Stack>
  );
}

/** `[Name]` or `"Name"` → `Name`: what a (quoted) column or table name stands for. */
function unquote(expression: string): string {
  const e = expression.trim();
  if (e.startsWith("[") && e.endsWith("]")) return e.slice(1, -1).replaceAll("]]", "]");
  if (e.startsWith('"') && e.endsWith('"')) return e.slice(1, -1).replaceAll('""', '"');
  return e;
}

function ColumnsTab({
  model,
  error,
  onChange,
}: {
  model: TaskModel;
  error: unknown;
  onChange: (model: TaskModel) => void;
}) {
  const columns = model.availableColumns;
  const known = new Map((columns ?? []).map((c) => [c.name.toLowerCase(), c.name]));
  const all = model.columns.length === 0;
  const chosen = new Map<string, string | null>();
  const expressions: SelectColumn[] = [];
  /** Where each computed column is in the statement's list, which is how the server names its errors. */
  const places: number[] = [];
  model.columns.forEach((c, place) => {
    const name = known.get(unquote(c.expression).toLowerCase());
    if (name !== undefined && !chosen.has(name)) chosen.set(name, c.alias);
    else {
      expressions.push(c);
      places.push(place);
    }
  });
  const included = (name: string) => all || chosen.has(name);

  /** Columns in the source's order, then the computed ones; everything unchanged means all columns. */
  const rebuild = (picked: Map<string, string | null>, computed: SelectColumn[]) => {
    const list: SelectColumn[] = (columns ?? [])
      .filter((c) => picked.has(c.name))
      .map((c) => ({ expression: c.expression, alias: picked.get(c.name) || null }));
    const everything =
      picked.size === (columns ?? []).length && computed.length === 0 && list.every((c) => c.alias === null);
    onChange({ ...model, columns: everything ? [] : [...list, ...computed] });
  };
  const current = () =>
    all ? new Map((columns ?? []).map((c) => [c.name, null as string | null])) : new Map(chosen);

  const toggle = (name: string, on: boolean) => {
    const picked = current();
    if (on) picked.set(name, null);
    else picked.delete(name);
    rebuild(picked, expressions);
  };
  const rename = (name: string, alias: string) => {
    const picked = current();
    picked.set(name, alias.trim() === "" ? null : alias);
    rebuild(picked, expressions);
  };
  const setExpression = (index: number, patch: Partial<SelectColumn>) =>
    rebuild(
      current(),
      expressions.map((e, i) => (i === index ? { ...e, ...patch } : e)),
    );

  return (
    <Stack>
      <TextInput
        label="Destination table"
        description="The table this task writes in the destination"
        value={model.target}
        onChange={(e) => onChange({ ...model, target: e.currentTarget.value })}
        maw={420}
      />
      {!columns && <Text c="dimmed">Loading the source table's columns…</Text>}
      {columns && (
        <Table.ScrollContainer minWidth={560}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={80}>Include</Table.Th>
                <Table.Th>Column</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Destination name</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {columns.map((c) => (
                <Table.Tr key={c.name}>
                  <Table.Td>
                    <Checkbox
                      aria-label={`Include ${c.name}`}
                      checked={included(c.name)}
                      onChange={(e) => toggle(c.name, e.currentTarget.checked)}
                    />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {c.name}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {c.description}
                    </Text>
                  </Table.Td>
                  <Table.Td>{c.type}</Table.Td>
                  <Table.Td>
                    <TextInput
                      size="xs"
                      aria-label={`Rename ${c.name}`}
                      placeholder={c.name}
                      disabled={!included(c.name)}
                      value={chosen.get(c.name) ?? ""}
                      onChange={(e) => rename(c.name, e.currentTarget.value)}
                    />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Title order={2} size="h4">
        Computed columns
      </Title>
      {expressions.map((e, i) => (
        // Rows have no identity of their own; their place in the list is it.
        // biome-ignore lint/suspicious/noArrayIndexKey: see above
        <Group key={i} align="flex-end">
          <TextInput
            label={`Expression ${i + 1}`}
            value={e.expression}
            error={fieldError(error, `columns.${places[i]}.expression`)}
            onChange={(ev) => setExpression(i, { expression: ev.currentTarget.value })}
            classNames={CODE_INPUT}
            style={{ flex: 1 }}
          />
          <TextInput
            label={`Name of expression ${i + 1}`}
            value={e.alias ?? ""}
            error={fieldError(error, `columns.${places[i]}.alias`)}
            onChange={(ev) => setExpression(i, { alias: ev.currentTarget.value || null })}
          />
          <Button
            variant="subtle"
            color="red"
            onClick={() =>
              rebuild(
                current(),
                expressions.filter((_, j) => j !== i),
              )
            }
            aria-label={`Remove expression ${i + 1}`}
          >
            Remove
          </Button>
        </Group>
      ))}
      <Group>
        <Button
          variant="default"
          onClick={() => rebuild(current(), [...expressions, { expression: "", alias: null }])}
        >
          Add computed column
        </Button>
      </Group>
    </Stack>
  );
}

function QueryTab({
  model,
  error,
  onChange,
}: {
  model: TaskModel;
  error: unknown;
  onChange: (model: TaskModel) => void;
}) {
  const setOrder = (index: number, patch: Partial<TaskModel["orderBy"][number]>) =>
    onChange({ ...model, orderBy: model.orderBy.map((o, i) => (i === index ? { ...o, ...patch } : o)) });
  return (
    <Stack maw={720}>
      <Textarea
        label="Filter (WHERE)"
        description="Only rows for which this condition holds, e.g. Date >= '2026-01-01'"
        autosize
        minRows={2}
        classNames={CODE_INPUT}
        value={model.where ?? ""}
        error={fieldError(error, "where")}
        onChange={(e) =>
          onChange({ ...model, where: e.currentTarget.value.trim() === "" ? null : e.currentTarget.value })
        }
      />
      <Textarea
        label="Group by"
        description="One expression per line"
        autosize
        minRows={1}
        classNames={CODE_INPUT}
        value={model.groupBy.join("\n")}
        error={fieldError(error, "groupBy")}
        onChange={(e) =>
          onChange({
            ...model,
            groupBy: e.currentTarget.value.split("\n").filter((line) => line.trim() !== ""),
          })
        }
      />
      <Text fw={500} size="sm">
        Order by
      </Text>
      {model.orderBy.map((o, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: sort keys are identified by their place
        <Group key={i} align="flex-end">
          <TextInput
            label={`Sort expression ${i + 1}`}
            value={o.expression}
            error={fieldError(error, `orderBy.${i}.expression`)}
            onChange={(e) => setOrder(i, { expression: e.currentTarget.value })}
            classNames={CODE_INPUT}
            style={{ flex: 1 }}
          />
          <Checkbox
            label="Descending"
            checked={o.descending}
            onChange={(e) => setOrder(i, { descending: e.currentTarget.checked })}
            mb={8}
          />
          <ActionIcon
            variant="subtle"
            color="red"
            onClick={() => onChange({ ...model, orderBy: model.orderBy.filter((_, j) => j !== i) })}
            aria-label={`Remove sort expression ${i + 1}`}
            mb={4}
          >
            ×
          </ActionIcon>
        </Group>
      ))}
      <Group>
        <Button
          variant="default"
          onClick={() =>
            onChange({ ...model, orderBy: [...model.orderBy, { expression: "", descending: false }] })
          }
        >
          Add sort expression
        </Button>
      </Group>
    </Stack>
  );
}

function StatementTab({
  text,
  error,
  onChange,
}: {
  text: string;
  error: unknown;
  onChange: (value: string) => void;
}) {
  const excerpt = error instanceof ApiError ? error.position.excerpt : undefined;
  return (
    <Stack maw={900}>
      <Textarea
        label="REPLICATE statement"
        description="Edit the statement directly; the Columns and Query tabs follow."
        autosize
        minRows={4}
        classNames={CODE_INPUT}
        spellCheck={false}
        value={text}
        onChange={(e) => onChange(e.currentTarget.value)}
        error={error !== undefined ? errorMessage(error) : undefined}
      />
      {excerpt && <Code block>{excerpt}</Code>}
    </Stack>
  );
}
