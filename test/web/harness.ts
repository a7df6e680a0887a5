/**
 * What the browser tests run against: the built web UI, `bitbridge serve` as a child process on a
 * fresh database, and Debian's Chromium driven by playwright-core.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const SCREENSHOTS = path.join(ROOT, "test-artifacts", "screenshots");

const run = promisify(execFile);

function newestMtime(target: string): number {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(target).map((f) => newestMtime(path.join(target, f))));
}

/** Builds dist/web when it is missing or older than its sources, so the tests never see a stale UI. */
export async function buildWebUi(): Promise<void> {
  const index = path.join(ROOT, "dist", "web", "index.html");
  const sources = Math.max(
    newestMtime(path.join(ROOT, "web")),
    newestMtime(path.join(ROOT, "vite.config.ts")),
  );
  if (existsSync(index) && statSync(index).mtimeMs > sources) return;
  await run(process.execPath, [path.join(ROOT, "node_modules", "vite", "bin", "vite.js"), "build"], {
    cwd: ROOT,
    timeout: 300_000,
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

export interface Bitbridge {
  readonly origin: string;
  readonly home: string;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * `bitbridge serve` from source (as test/cli does: no compile step to go stale), on a free port; resolves
 * once `/api/health` answers.
 */
export async function startBitbridge(env: Record<string, string>): Promise<Bitbridge> {
  const port = await freePort();
  const home = mkdtempSync(path.join(tmpdir(), "bitbridge-web-"));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/entry.ts", "serve", "--port", String(port)],
    { cwd: ROOT, env: { ...process.env, BITBRIDGE_HOME: home, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bitbridge serve exited early:\n${output}`);
    try {
      if ((await fetch(`${origin}/api/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`bitbridge serve did not come up in 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    origin,
    home,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      const code = await closed;
      rmSync(home, { recursive: true, force: true });
      return code;
    },
  };
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), "bitbridge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    // Reading the clipboard back checks the copy buttons.
    permissions: ["clipboard-read", "clipboard-write"],
  });
  // The machine is slow and shared: give every action and wait room.
  context.setDefaultTimeout(60_000);
  context.setDefaultNavigationTimeout(90_000);
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(
  page: Page,
  name: string,
  options: { hideNotifications?: boolean } = {},
): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // Notifications slide in over the page; screenshots show the page itself.
  await page.mouse.move(0, 0);
  // A full-page capture draws the fixed header where the viewport is: at the top, where it belongs.
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({
    path: file,
    fullPage: true,
    // For the README: the page itself, without what the steps before it announced.
    ...(options.hideNotifications && { style: ".mantine-Notifications-root { display: none }" }),
  });
  return file;
}

/** Waits for `locator` to be visible (the default timeout) and returns it, for chaining. */
export async function visible(locator: Locator): Promise<Locator> {
  await locator.first().waitFor({ state: "visible" });
  return locator;
}

/**
 * The input labelled exactly `label`. Mantine appends an asterisk to the labels of required inputs,
 * hidden from screen readers but part of the label's text, which is what `getByLabel` matches.
 */
export function field(page: Page, label: string): Locator {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Mantine's option lists carry their input's label too: only the input itself is wanted.
  return page.getByLabel(new RegExp(`^${escaped}( \\*)?$`)).and(page.locator("input, textarea"));
}

/**
 * Sets a form field by its label, whether it is a text input or a Mantine select (a combobox whose
 * value is picked from a list).
 */
export async function setField(page: Page, label: string, value: string): Promise<void> {
  const input = field(page, label);
  if ((await input.getAttribute("aria-haspopup")) === "listbox") {
    await input.click();
    // A searchable select narrows its list to what is typed.
    if ((await input.getAttribute("readonly")) === null) await input.fill(value);
    await page.getByRole("option", { name: value, exact: true }).click();
  } else {
    await input.fill(value);
  }
}
