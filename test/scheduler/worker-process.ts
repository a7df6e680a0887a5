import { type ChildProcess, spawn } from "node:child_process";

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `bitbridge worker` in a child process with short intervals (heartbeat, poll and schedule checks every
 * 0.5 s), resolved once it says it started; `flags` are extra or overriding worker options.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, ...flags: string[]): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/entry.ts",
      "worker",
      "--poll",
      "0.5",
      "--heartbeat",
      "0.5",
      "--schedule-interval",
      "0.5",
      ...flags,
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const worker: WorkerProcess = { child, pid: child.pid as number, stderr: "", exited };
  child.stderr?.on("data", (d: Buffer) => {
    worker.stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("started")) resolve();
    });
    void exited.then(() => reject(new Error(`worker exited: ${worker.stderr}`)));
  });
  return worker;
}

/** Kills the workers still running and waits until every one has exited. */
export async function stopWorkers(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
}
