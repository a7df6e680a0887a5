import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, loadSecretKey, redactSecrets } from "../../src/app/secrets.js";
import { FileTokenStore } from "../../src/bitbucket/token-store.js";
import { rejection } from "./helpers.js";

let home: string;

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), "bitbridge-secrets-"));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("secret key", () => {
  it("creates a key file with mode 0600 once and reuses it", async () => {
    const env = { BITBRIDGE_HOME: home };
    const key = loadSecretKey(env);
    expect(key).toHaveLength(32);
    const file = path.join(home, "secret.key");
    if (process.platform !== "win32") expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(loadSecretKey(env).equals(key)).toBe(true);
  });

  it("takes BITBRIDGE_SECRET_KEY as hex or base64 and refuses anything else", () => {
    const raw = randomBytes(32);
    expect(loadSecretKey({ BITBRIDGE_SECRET_KEY: raw.toString("hex") }).equals(raw)).toBe(true);
    expect(loadSecretKey({ BITBRIDGE_SECRET_KEY: raw.toString("base64") }).equals(raw)).toBe(true);
    expect(() => loadSecretKey({ BITBRIDGE_SECRET_KEY: "short" })).toThrow(/must be 32 bytes/);
    expect(() => loadSecretKey({ BITBRIDGE_SECRET_KEY: randomBytes(16).toString("hex") })).toThrow(
      expect.objectContaining({ code: "SECRET_KEY_INVALID" }),
    );
  });
});

describe("encryption", () => {
  it("round-trips, hides the plaintext, and fails clearly with another key or context", () => {
    const key = randomBytes(32);
    const sealed = encryptSecret("refresh-token-value", key, "conn-1");
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain("refresh-token-value");
    expect(encryptSecret("refresh-token-value", key, "conn-1")).not.toBe(sealed); // random IV
    expect(decryptSecret(sealed, key, "conn-1")).toBe("refresh-token-value");
    expect(() => decryptSecret(sealed, randomBytes(32), "conn-1")).toThrow(/secret key .* changed/);
    expect(() => decryptSecret(sealed, key, "conn-2")).toThrow(
      expect.objectContaining({ code: "SECRET_DECRYPT_FAILED" }),
    );
  });
});

describe("redactSecrets", () => {
  it("masks secrets and their encoded forms", () => {
    const secret = "abc+/=def";
    const text = `token ${secret} url ${encodeURIComponent(secret)} b64 ${Buffer.from(secret).toString("base64")}`;
    const out = redactSecrets(text, [secret, undefined, "ab"]);
    expect(out).not.toContain("abc");
    expect(out).toBe("token ******** url ******** b64 ********");
  });
});

describe("FileTokenStore", () => {
  it("stores tokens encrypted, one file per connection, readable again", async () => {
    const env = { BITBRIDGE_HOME: home };
    const store = new FileTokenStore({ connection: "OAuth:client@https://bitbucket.org", env });
    expect(await store.load()).toBeUndefined();
    await store.save({ refreshToken: "RT-super-secret-1234", accessToken: "AT-secret-5678", expiresAt: 42 });
    const content = await readFile(store.file, "utf8");
    expect(content).not.toContain("RT-super-secret-1234");
    expect(content).not.toContain("AT-secret-5678");
    if (process.platform !== "win32") expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    const again = new FileTokenStore({ connection: "OAuth:client@https://bitbucket.org", env });
    expect(await again.load()).toEqual({
      refreshToken: "RT-super-secret-1234",
      accessToken: "AT-secret-5678",
      expiresAt: 42,
    });
    const other = new FileTokenStore({ connection: "OAuth:other@https://bitbucket.org", env });
    expect(await other.load()).toBeUndefined();
    const wrongKey = new FileTokenStore({
      connection: "OAuth:client@https://bitbucket.org",
      env,
      key: randomBytes(32),
    });
    expect((await rejection(wrongKey.load())).code).toBe("SECRET_DECRYPT_FAILED");
    await store.clear();
    expect(await store.load()).toBeUndefined();
  });
});
