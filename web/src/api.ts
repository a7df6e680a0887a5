/**
 * The REST API client (docs/api.md). The session cookie travels by itself (same origin); changes
 * carry the CSRF token that `GET /api/session` and `POST /api/session` hand out.
 */

export interface FieldError {
  field: string;
  message: string;
}

interface ErrorBody {
  error?: {
    code?: string;
    message?: string;
    fields?: FieldError[];
    line?: number;
    column?: number;
    excerpt?: string;
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: readonly FieldError[] = [],
    readonly position: { line?: number; column?: number; excerpt?: string } = {},
  ) {
    super(message);
  }

  /**
   * The message for one input. `name` is the field path below the body (`name`, `properties.Workspace`);
   * the server may spell it `body.name`, `body/name` or `/name`.
   */
  fieldMessage(name: string): string | undefined {
    const wanted = normalizeField(name);
    return this.fields.find((f) => normalizeField(f.field) === wanted)?.message;
  }

  /** What to show above a form: the message, plus the line and column of a SQL error. */
  get summary(): string {
    const { line, column } = this.position;
    return line === undefined ? this.message : `${this.message} (line ${line}, column ${column ?? 1})`;
  }
}

function normalizeField(field: string): string {
  return field
    .replace(/^body[./]/, "")
    .replace(/^\//, "")
    .replaceAll("/", ".")
    .toLowerCase();
}

/** The field error for an input, or undefined when `error` is something else. */
export function fieldError(error: unknown, name: string): string | undefined {
  return error instanceof ApiError ? error.fieldMessage(name) : undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.summary;
  if (error instanceof Error) return error.message;
  return String(error);
}

let csrfToken: string | null = null;
let onUnauthenticated: () => void = () => {};

/** Called when any request answers 401, i.e. the session ended (expired, logged out elsewhere). */
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (!SAFE_METHODS.has(method) && csrfToken) headers["x-csrf-token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "NETWORK", "The bitbridge server does not answer. Is `bitbridge serve` running?");
  }
  if (response.ok) {
    if (response.status === 204) return undefined as T;
    const type = response.headers.get("content-type") ?? "";
    return (type.includes("json") ? await response.json() : await response.text()) as T;
  }
  const error = await toApiError(response);
  if (response.status === 401 && path !== "/api/session") onUnauthenticated();
  throw error;
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  let parsed: ErrorBody = {};
  try {
    parsed = JSON.parse(text) as ErrorBody;
  } catch {
    // Not JSON (a proxy's error page): fall back to the status line below.
  }
  const e = parsed.error;
  const message = e?.message ?? `${response.status} ${response.statusText || "error"}`;
  return new ApiError(response.status, e?.code ?? `HTTP_${response.status}`, message, e?.fields ?? [], {
    ...(e?.line !== undefined && { line: e.line }),
    ...(e?.column !== undefined && { column: e.column }),
    ...(e?.excerpt !== undefined && { excerpt: e.excerpt }),
  });
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  put: <T>(path: string, body?: unknown) => request<T>("PUT", path, body ?? {}),
  delete: (path: string) => request<void>("DELETE", path),
};

export interface Session {
  username: string;
  csrfToken: string;
}

/** The current session, or null when logged out. */
export async function loadSession(): Promise<Session | null> {
  try {
    const session = await api.get<Session>("/api/session");
    csrfToken = session.csrfToken;
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function logIn(username: string, password: string): Promise<Session> {
  const session = await api.post<Session>("/api/session", { username, password });
  csrfToken = session.csrfToken;
  return session;
}

export async function logOut(): Promise<void> {
  try {
    await api.delete("/api/session");
  } catch (error) {
    // An ended session (expired, or ended by a password change elsewhere) is as good as logged out.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  csrfToken = null;
}

/** A path segment: names may hold characters that mean something in a URL. */
export const seg = encodeURIComponent;
