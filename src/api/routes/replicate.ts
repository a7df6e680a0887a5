import { Type } from "@sinclair/typebox";
import { quoteIdentifier } from "../../sql/printer.js";
import { parseReplicate } from "../../sql/replicate.js";
import type { RouteModule } from "../app.js";
import { withSqlErrors } from "../jobs/errors.js";
import { ParseAnswerSchema, TaskModelInputSchema } from "../jobs/schemas.js";
import { bindTask, sourceCatalog } from "../jobs/source.js";
import { formatTaskModel, taskModel } from "../jobs/task-model.js";
import { ErrorBody } from "../schemas.js";

/**
 * The task editor: REPLICATE text to the model its Columns and Query tabs edit, and back. The two are
 * inverse on canonical text: format(parse(s)) is s in canonical form and parse(format(m)) is m.
 */
export const replicateRoutes: RouteModule = (api, ctx) => {
  const tags = ["tasks"];

  api.post(
    "/api/replicate/parse",
    {
      schema: {
        summary: "Parse a REPLICATE statement into the task editor's model",
        description:
          "With source (a saved source connection), the statement is also checked against that source's " +
          "tables and the answer lists the source table's columns.",
        tags,
        body: Type.Object(
          {
            statement: Type.String({ minLength: 1 }),
            source: Type.Optional(Type.String({ minLength: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ParseAnswerSchema, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { statement: sql, source } = request.body;
      const statement = await withSqlErrors(sql, () => parseReplicate(sql), "body.statement");
      const model = taskModel(statement);
      if (source === undefined) return model;
      const catalog = await sourceCatalog(ctx.connections, source);
      const bound = await withSqlErrors(sql, () => bindTask(sql, statement, catalog), "body.statement");
      return {
        ...model,
        availableColumns: bound.table.columns.map((c) => ({
          name: c.name,
          expression: quoteIdentifier(c.name, false),
          type: c.type,
          description: c.description,
        })),
      };
    },
  );

  api.post(
    "/api/replicate/format",
    {
      schema: {
        summary: "The canonical REPLICATE statement of a task editor model",
        description:
          "Each piece is checked on its own: an error names its field (e.g. body.where) with a line and " +
          "column inside that piece.",
        tags,
        body: TaskModelInputSchema,
        response: { 200: Type.Object({ statement: Type.String() }), 400: ErrorBody },
      },
    },
    async (request) => ({ statement: formatTaskModel(request.body) }),
  );
};
