import { BitbridgeError } from "../app/errors.js";
import type { Repository } from "../bitbucket/api-types.js";
import type { BitbucketClient, QueryParams } from "../bitbucket/types.js";
import { type CatalogTable, findTable, type RowContext } from "./catalog.js";

/** One API object and where it was read from; columns turn it into values. */
export interface SourceRow {
  readonly item: unknown;
  readonly ctx: RowContext;
}

/** What a read may push to the API; the planner decides, the reader only executes. */
export interface ReadRequest {
  readonly table: CatalogTable;
  /** Workspace slug; required below the account level. */
  readonly workspace?: string;
  /** Only these repositories (slugs); all of the workspace when absent. */
  readonly repositories?: readonly string[];
  /** Repositories already listed by the caller (slug and UUID): read these without asking again. */
  readonly knownRepositories?: readonly Repository[];
  /** More query parameters for the list requests (e.g. `include`/`exclude` on commits). */
  readonly extraParams?: QueryParams;
  /** BBQL for `q=` (tables with BBQL only). */
  readonly q?: string;
  /** BBQL `sort=` (one field, `-` for descending). */
  readonly sort?: string;
  /** Item-relative API fields the query needs; all fields when absent. */
  readonly fields?: readonly string[];
  /** Key values for the table's lookup endpoint: fetch these objects instead of listing. */
  readonly keys?: readonly string[];
  /** For child tables: only these parent keys (e.g. pull request ids), skipping the parent listing. */
  readonly parentKeys?: readonly string[];
  /** Repositories read at once. */
  readonly concurrency?: number;
  /**
   * Whether rows need RepositoryUuid. When they do not, named repositories cost no request of their own:
   * `WHERE Id = 1` on one repository is then exactly one request.
   */
  readonly repositoryUuid?: boolean;
}

/** Reads a table's rows with as few requests as the API allows; stops when the consumer stops. */
export async function* readTable(client: BitbucketClient, request: ReadRequest): AsyncGenerator<SourceRow> {
  for await (const page of readPages(client, request)) yield* page;
}

/**
 * `readTable` a page at a time: a consumer that handles a page without awaiting saves the promises of
 * a hop per row, and the page's objects die young.
 */
export async function* readPages(client: BitbucketClient, request: ReadRequest): AsyncGenerator<SourceRow[]> {
  const { table } = request;
  const level = table.def.level;
  if (level.kind === "account") {
    yield* listRows(client, request, table.def.path, {}, {});
    return;
  }
  const workspace = request.workspace;
  if (!workspace) {
    throw new BitbridgeError(
      "WORKSPACE_REQUIRED",
      `${table.name} is read per workspace: set the Workspace connection property (list yours with SELECT Slug FROM Workspaces).`,
    );
  }
  const base = { workspace };
  if (level.kind === "workspace") {
    if (request.keys && table.def.lookup) {
      yield* lookupRows(client, request, base, { workspace });
      return;
    }
    yield* listRows(client, request, table.def.path, base, { workspace });
    return;
  }
  const repositories = request.knownRepositories
    ? fromArray(request.knownRepositories)
    : repositoriesOf(client, workspace, request.repositories, request.repositoryUuid ?? true);
  const perRepository = async function* (repo: Repository): AsyncGenerator<SourceRow[]> {
    const params = { workspace, repo_slug: repo.slug ?? "" };
    const ctx: RowContext = { workspace, repositorySlug: repo.slug, repositoryUuid: repo.uuid };
    if (level.kind === "repository") {
      if (request.keys && table.def.lookup) yield* lookupRows(client, request, params, ctx);
      else yield* listRows(client, request, table.def.path, params, ctx);
      return;
    }
    const parentKeys = request.parentKeys ?? (await parentKeysOf(client, level.parent, level, params, ctx));
    for (const key of parentKeys) {
      const childParams = { ...params, [level.param]: key };
      yield* listRows(client, request, table.def.path, childParams, { ...ctx, parentKey: key });
    }
  };
  // One repository (the task runner reads each on its own) needs no merging: the race between
  // generators costs a few promises per page.
  const only = request.knownRepositories?.length === 1 ? request.knownRepositories[0] : undefined;
  if (only) yield* perRepository(only);
  else yield* mergeConcurrently(repositories, perRepository, request.concurrency ?? 4);
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** Fan-out needs only each repository's slug and UUID. */
export const REPOSITORY_QUERY = { fields: "uuid,slug" } as const;
export const REPOSITORIES_QUERY = {
  pagelen: 100,
  fields: "next,values.uuid,values.slug,values.updated_on",
} as const;

/** Repositories to fan out over: the named ones (one request each) or the workspace's list. */
async function* repositoriesOf(
  client: BitbucketClient,
  workspace: string,
  slugs: readonly string[] | undefined,
  needUuid: boolean,
): AsyncGenerator<Repository> {
  if (slugs) {
    for (const slug of slugs) {
      yield needUuid
        ? await client.get<Repository>(`/repositories/${enc(workspace)}/${enc(slug)}`, REPOSITORY_QUERY)
        : { slug };
    }
    return;
  }
  for await (const page of client.pages<Repository>(`/repositories/${enc(workspace)}`, REPOSITORIES_QUERY)) {
    yield* page.values;
  }
}

async function parentKeysOf(
  client: BitbucketClient,
  parentName: string,
  level: { parentColumn: string; parentParams?: QueryParams },
  params: Record<string, string>,
  ctx: RowContext,
): Promise<string[]> {
  const parent = findTable(parentName);
  const column = parent?.columns.find((c) => c.name === level.parentColumn);
  if (!parent || !column?.field) throw new Error(`catalog: bad parent ${parentName}.${level.parentColumn}`);
  const keys: string[] = [];
  const request: ReadRequest = { table: parent, fields: [column.field] };
  for await (const page of listRows(client, request, parent.def.path, params, ctx, level.parentParams)) {
    for (const row of page) {
      const key = column.get(row.item, ctx);
      if (key !== undefined && key !== null) keys.push(String(key));
    }
  }
  return keys;
}

async function* listRows(
  client: BitbucketClient,
  request: ReadRequest,
  template: string,
  params: Record<string, string>,
  ctx: RowContext,
  extraParams?: QueryParams,
): AsyncGenerator<SourceRow[]> {
  const query = listQuery(request, extraParams);
  for await (const page of client.pages(fillPath(template, params), query)) {
    yield page.values.map((item) => ({ item, ctx }));
  }
}

async function* lookupRows(
  client: BitbucketClient,
  request: ReadRequest,
  params: Record<string, string>,
  ctx: RowContext,
): AsyncGenerator<SourceRow[]> {
  const lookup = request.table.def.lookup;
  if (!lookup) return;
  for (const key of request.keys ?? []) {
    try {
      const item = await client.get(
        fillPath(lookup.path, { ...params, [lookup.param]: key }),
        lookupQuery(request),
      );
      yield [{ item, ctx }];
    } catch (error) {
      // A key that does not exist is simply no row, as `WHERE Id = 404` would be on a scan.
      if (error instanceof BitbridgeError && error.code === "BITBUCKET_NOT_FOUND") continue;
      throw error;
    }
  }
}

/** The query string of a list request: largest page, pushed filter and sort, reduced fields. */
export function listQuery(request: ReadRequest, extraParams?: QueryParams): QueryParams {
  const def = request.table.def;
  const query: Record<string, QueryParams[string]> = {
    ...def.params,
    // The caller's (e.g. `include`/`exclude` of an incremental commit walk); without them that walk
    // re-read every commit of the repository.
    ...request.extraParams,
    ...extraParams,
    pagelen: def.maxPageLength,
  };
  if (request.q) query.q = request.q;
  if (request.sort) query.sort = request.sort;
  const fields = listFields(request);
  if (fields) query.fields = fields;
  return query;
}

/** The query string of a lookup: only the fields the query reads. */
export function lookupQuery(request: ReadRequest): QueryParams {
  return request.fields ? { fields: [...new Set(request.fields)].join(",") } : {};
}

/** `fields=` for a list: only what the query reads, plus `next`; hidden fields named explicitly. */
function listFields(request: ReadRequest): string | undefined {
  const hidden = request.table.def.hiddenFields ?? [];
  if (!request.fields) return hidden.length > 0 ? hidden.map((f) => `+${f}`).join(",") : undefined;
  const wanted = new Set(["next", ...request.fields.map((f) => `values.${f}`)]);
  return [...wanted].join(",");
}

export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`path ${template} needs {${name}}`);
    return enc(value);
  });
}

function enc(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Runs `work` for each input with at most `limit` running at once and yields their rows as they come.
 * When the consumer stops early, unfinished work is abandoned without starting new inputs.
 */
async function* mergeConcurrently<I, O>(
  inputs: AsyncIterable<I>,
  work: (input: I) => AsyncGenerator<O>,
  limit: number,
): AsyncGenerator<O> {
  const source = inputs[Symbol.asyncIterator]();
  const running = new Map<
    number,
    { gen: AsyncGenerator<O>; next: Promise<{ id: number; result: IteratorResult<O> }> }
  >();
  let nextId = 0;
  let sourceDone = false;
  const pull = (id: number, gen: AsyncGenerator<O>) => gen.next().then((result) => ({ id, result }));
  const fill = async () => {
    while (!sourceDone && running.size < limit) {
      const input = await source.next();
      if (input.done) {
        sourceDone = true;
        break;
      }
      const id = nextId++;
      const gen = work(input.value);
      running.set(id, { gen, next: pull(id, gen) });
    }
  };
  try {
    await fill();
    while (running.size > 0) {
      const { id, result } = await Promise.race([...running.values()].map((r) => r.next));
      const entry = running.get(id);
      if (!entry) continue;
      if (result.done) {
        running.delete(id);
        await fill();
        continue;
      }
      // The next page is asked for only when the consumer wants more: a LIMIT that the page already
      // satisfies must not cost another request.
      yield result.value;
      entry.next = pull(id, entry.gen);
    }
  } finally {
    for (const { gen } of running.values()) void gen.return(undefined).catch(() => undefined);
    if (!sourceDone) await source.return?.();
  }
}
