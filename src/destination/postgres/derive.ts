/** Result types of derived columns, asked of PostgreSQL before any row is loaded. */
import type pg from "pg";
import { BitbridgeError } from "../../app/errors.js";
import { quoteIdent } from "./naming.js";
import { SQL_TYPES, type TargetColumn } from "./target.js";

export interface DerivedExpression {
  readonly name: string;
  readonly sql: string;
}

/**
 * PostgreSQL's type (as `format_type` spells it) of each expression over `inputs`, found by planning
 * `SELECT expr FROM (typed NULLs) LIMIT 0`: nothing is read or written, and an expression PostgreSQL
 * rejects (`lower(42)`, a missing function) fails here, named, before the run touches any table.
 */
export async function deriveTypes(
  client: pg.ClientBase,
  inputs: readonly TargetColumn[],
  expressions: readonly DerivedExpression[],
): Promise<string[]> {
  const row =
    inputs.length === 0
      ? "SELECT"
      : `SELECT ${inputs.map((c) => `NULL::${SQL_TYPES[c.type]} AS ${quoteIdent(c.name)}`).join(", ")}`;
  const types: string[] = [];
  for (const e of expressions) {
    let field: { dataTypeID: number; dataTypeModifier: number } | undefined;
    try {
      field = (await client.query(`SELECT ${e.sql} AS v FROM (${row}) AS s LIMIT 0`)).fields[0];
    } catch (error) {
      throw new BitbridgeError(
        "REPLICATE_EXPRESSION",
        `PostgreSQL cannot evaluate column ${e.name}: ${error instanceof Error ? error.message : String(error)}`,
        { column: e.name },
        400,
        { cause: error },
      );
    }
    if (!field) throw new Error(`no result column for ${e.name}`);
    const named = await client.query<{ type: string }>({
      text: "SELECT format_type($1::oid, nullif($2::integer, -1)) AS type",
      values: [field.dataTypeID, field.dataTypeModifier],
    });
    const type = named.rows[0]?.type ?? "text";
    // An expression of only literals (`'x' AS Label`) has no type of its own until stored: text.
    types.push(type === "unknown" ? "text" : type);
  }
  return types;
}
