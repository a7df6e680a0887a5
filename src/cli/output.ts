/** Query results as an aligned text table, JSON or CSV. */
export type OutputFormat = "table" | "json" | "csv";

export interface Tabular {
  readonly columns: readonly { readonly name: string }[];
  readonly rows: readonly unknown[][];
}

export function formatRows(result: Tabular, format: OutputFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(
        result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i] ?? null]))),
        null,
        2,
      )}\n`;
    case "csv":
      return [result.columns.map((c) => csvCell(c.name)), ...result.rows.map((r) => r.map(csvCell))]
        .map((line) => `${line.join(",")}\r\n`)
        .join("");
    case "table":
      return textTable(result);
  }
}

const MAX_CELL = 60;

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function textTable(result: Tabular): string {
  const header = result.columns.map((c) => c.name);
  const body = result.rows.map((r) =>
    header.map((_, i) => {
      const text = cellText(r[i]).replace(/\s+/g, " ");
      return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
    }),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n")}\n`;
}

function csvCell(value: unknown): string {
  const text = cellText(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
