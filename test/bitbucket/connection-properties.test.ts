import { describe, expect, it } from "vitest";
import { closest } from "../../src/app/closest.js";
import { BitbridgeError } from "../../src/app/errors.js";
import {
  connectionPropertiesFrom,
  parseConnectionString,
  redact,
  splitConnectionString,
  toDisplayString,
} from "../../src/bitbucket/connection-properties.js";

function parseError(text: string): BitbridgeError {
  try {
    parseConnectionString(text);
  } catch (error) {
    expect(error).toBeInstanceOf(BitbridgeError);
    return error as BitbridgeError;
  }
  throw new Error(`"${text}" parsed without error`);
}

const API = "AuthScheme=APIToken;User=jane@example.com;APIToken=ATATT3xFfGF0abc=DEF12345";

describe("connection string syntax", () => {
  it("splits, trims, and keeps '=' inside values", () => {
    expect(splitConnectionString("  a = 1 ; b=x=y=;;  c=  ")).toEqual([
      { name: "a", value: "1" },
      { name: "b", value: "x=y=" },
      { name: "c", value: "" },
    ]);
  });

  it("accepts quoted values with ';' and doubled quotes", () => {
    expect(splitConnectionString(`a="x;y" ; b='it''s' ;c = "say ""hi"""`)).toEqual([
      { name: "a", value: "x;y" },
      { name: "b", value: "it's" },
      { name: "c", value: 'say "hi"' },
    ]);
  });

  it("reports unclosed quotes, text after quotes and names without values", () => {
    expect(parseError(`${API};Workspace="acme`).code).toBe("CONNECTION_STRING_SYNTAX");
    expect(parseError(`${API};Workspace="acme" x`).message).toMatch(/after the quoted value of Workspace/);
    const bare = parseError(`${API};Workspace`);
    expect(bare.code).toBe("CONNECTION_STRING_SYNTAX");
    expect(bare.message).toContain("Workspace=<value>");
  });
});

describe("parseConnectionString", () => {
  it("parses every scheme with defaults, names case-insensitive", () => {
    const p = parseConnectionString(
      `authscheme=apitoken;USER=jane@example.com;apitoken=tok-123456;workspace=acme`,
    );
    expect(p).toEqual({
      authScheme: "APIToken",
      user: "jane@example.com",
      apiToken: "tok-123456",
      workspace: "acme",
      callbackUrl: "http://localhost:33333",
      url: "https://api.bitbucket.org/2.0",
      authUrl: "https://bitbucket.org",
      requestsPerHour: 1000,
      maxConcurrency: 4,
      timeoutSeconds: 60,
    });
    expect(
      parseConnectionString("AuthScheme=AccessToken;AccessToken=ATCTT3x;Workspace=acme").authScheme,
    ).toBe("AccessToken");
    const oauth = parseConnectionString(
      "AuthScheme=OAuth;OAuthClientId=id;OAuthClientSecret='s;e;c';CallbackURL=http://localhost:4000/cb",
    );
    expect(oauth).toMatchObject({
      authScheme: "OAuth",
      oauthClientSecret: "s;e;c",
      callbackUrl: "http://localhost:4000/cb",
    });
    expect(parseConnectionString("AuthScheme=client;OAuthClientId=id;OAuthClientSecret=s").authScheme).toBe(
      "client",
    );
  });

  it("reads the tuning properties and normalises URLs and Schema", () => {
    const p = parseConnectionString(
      `${API};Url=http://127.0.0.1:7990/2.0/;AuthUrl=http://127.0.0.1:7990;RequestsPerHour=20;MaxConcurrency=2;` +
        "Timeout=2.5;Workspace={0b7c9e8c-2b0a-4d1e-9f53-7a1b2c3d4e5f};Schema=information",
    );
    expect(p).toMatchObject({
      url: "http://127.0.0.1:7990/2.0",
      requestsPerHour: 20,
      maxConcurrency: 2,
      timeoutSeconds: 2.5,
      schema: "Information",
    });
    expect(parseConnectionString(`${API};Workspace=acme;Schema=web-app`).schema).toBe("web-app");
  });

  it("says what APIToken needs", () => {
    const e = parseError("AuthScheme=APIToken;APIToken=x");
    expect(e.code).toBe("CONNECTION_PROPERTY_MISSING");
    expect(e.message).toBe(
      "AuthScheme=APIToken needs User (your Atlassian account email) and APIToken (an Atlassian API token).",
    );
    expect(e.details.property).toBe("User");
  });

  it("names missing properties for the other schemes", () => {
    expect(parseError("AuthScheme=OAuth;OAuthClientId=x").details.missing).toEqual(["OAuthClientSecret"]);
    expect(parseError("AuthScheme=AccessToken;AccessToken=x").message).toMatch(/needs Workspace/);
    const none = parseError("Workspace=acme");
    expect(none.details.property).toBe("AuthScheme");
    expect(none.message).toMatch(/APIToken.*AccessToken.*OAuth.*client/);
  });

  it("suggests the closest property name for a typo", () => {
    const e = parseError(`${API};Worksapce=acme`);
    expect(e.code).toBe("CONNECTION_PROPERTY_UNKNOWN");
    expect(e.message).toBe('Unknown connection property "Worksapce". Did you mean Workspace?');
    expect(parseError(`${API};OAuthClientSecert=x`).details.suggestion).toBe("OAuthClientSecret");
    expect(parseError(`${API};RequestsPerHours=5`).details.suggestion).toBe("RequestsPerHour");
    expect(parseError(`${API};Zebra=1`).message).toMatch(/Valid properties: AuthScheme, /);
    expect(closest("authschem", ["AuthScheme", "AuthUrl"])).toBe("AuthScheme");
  });

  it("explains that app passwords are gone", () => {
    for (const text of [
      "AuthScheme=Basic;User=jane;Password=app-pass",
      "AuthScheme=AppPassword",
      `${API};Password=x`,
    ]) {
      const e = parseError(text);
      expect(e.code).toBe("CONNECTION_APP_PASSWORDS_REMOVED");
      expect(e.message).toContain("removed app passwords on 2026-07-28");
      expect(e.message).toContain("AuthScheme=APIToken");
    }
    // A Bitbucket username where the account email belongs.
    const user = parseError("AuthScheme=APIToken;User=jane_doe;APIToken=x");
    expect(user.code).toBe("CONNECTION_APP_PASSWORDS_REMOVED");
    expect(user.details.property).toBe("User");
    expect(user.message).toMatch(/must be your Atlassian account email/);
  });

  it("refuses bad values, duplicates and properties of another scheme", () => {
    expect(parseError("AuthScheme=Token").message).toMatch(/not a known scheme/);
    expect(parseError("AuthScheme=APITokn").details.suggestion).toBe("APIToken");
    expect(parseError(`${API};RequestsPerHour=0`).details.property).toBe("RequestsPerHour");
    expect(parseError(`${API};MaxConcurrency=two`).details.property).toBe("MaxConcurrency");
    expect(parseError(`${API};Timeout=-1`).details.property).toBe("Timeout");
    expect(parseError(`${API};Url=ftp://x`).details.property).toBe("Url");
    expect(parseError(`${API};Url=https://user:pw@api.bitbucket.org/2.0`).message).not.toContain("pw");
    expect(parseError(`${API};Workspace=a/b`).details.property).toBe("Workspace");
    expect(parseError(`${API};Schema=web app;Workspace=a`).details.property).toBe("Schema");
    expect(parseError(`${API};Schema=web`).message).toMatch(/set Workspace too/);
    expect(parseError(`${API};user=x@y.z`).code).toBe("CONNECTION_PROPERTY_DUPLICATE");
    const conflict = parseError(`${API};AccessToken=abc`);
    expect(conflict.code).toBe("CONNECTION_PROPERTY_CONFLICT");
    expect(conflict.message).toMatch(
      /AccessToken is not used with AuthScheme=APIToken.*AuthScheme=AccessToken/,
    );
  });

  it("builds from a form-like record", () => {
    expect(
      connectionPropertiesFrom({
        AuthScheme: "client",
        OAuthClientId: "id",
        OAuthClientSecret: 'a;"b',
        Schema: undefined,
      }).oauthClientSecret,
    ).toBe('a;"b');
  });
});

describe("display", () => {
  it("never shows secrets", () => {
    const secret = "s3cr3t;value";
    const p = parseConnectionString(
      `AuthScheme=client;OAuthClientId=myid;OAuthClientSecret="${secret}";Workspace=acme;RequestsPerHour=500`,
    );
    const shown = toDisplayString(p);
    expect(shown).toBe(
      "AuthScheme=client;OAuthClientId=myid;OAuthClientSecret=********;Workspace=acme;" +
        "Url=https://api.bitbucket.org/2.0;RequestsPerHour=500",
    );
    expect(JSON.stringify(redact(p))).not.toContain("s3cr3t");
    const api = parseConnectionString(API);
    expect(toDisplayString(api)).not.toContain("ATATT3x");
    expect(redact(api).apiToken).toBe("********");
    expect(redact(api).user).toBe("jane@example.com");
  });

  it("round-trips non-secret values through quoting", () => {
    const p = parseConnectionString(`${API};Workspace=acme;CallbackURL="http://localhost:4000/a;b"`);
    const again = parseConnectionString(toDisplayString(p).replace("APIToken=********", "APIToken=x"));
    expect(again.callbackUrl).toBe("http://localhost:4000/a;b");
  });
});
