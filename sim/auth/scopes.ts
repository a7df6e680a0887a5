import { errors } from "../http/errors.js";
import type { Principal, RequiredScopes } from "./principal.js";

/**
 * Bitbucket's two scope vocabularies.
 *
 * Classic scopes (`repository`, `pullrequest:write`, ...) apply to OAuth consumers and to repository, project
 * and workspace access tokens. Some imply others: a `:write` scope implies its read scope, `pullrequest` and
 * `project` imply `repository`, `pullrequest:write` implies `repository:write`. `:admin` and `:delete` scopes
 * imply nothing (the narrative docs say so explicitly for `repository:admin` and `project:admin`).
 *
 * Granular scopes (`read:repository:bitbucket`, ...) apply to Atlassian API tokens and imply nothing at all,
 * not even `write:x` → `read:x`.
 */

/** Every classic scope a consumer can hold. `project:write` is deprecated but still accepted. */
export const CLASSIC_SCOPES = [
  "account",
  "account:write",
  "email",
  "issue",
  "issue:write",
  "pipeline",
  "pipeline:variable",
  "pipeline:write",
  "project",
  "project:admin",
  "project:write",
  "pullrequest",
  "pullrequest:write",
  "repository",
  "repository:admin",
  "repository:delete",
  "repository:write",
  "runner",
  "runner:write",
  "snippet",
  "snippet:write",
  "team",
  "team:write",
  "test",
  "test:write",
  "webhook",
  "wiki",
] as const;

/** Every granular scope an API token can hold (the `*:bitbucket` family). */
export const GRANULAR_SCOPES = [
  "read:repository:bitbucket",
  "write:repository:bitbucket",
  "admin:repository:bitbucket",
  "delete:repository:bitbucket",
  "read:pullrequest:bitbucket",
  "write:pullrequest:bitbucket",
  "read:project:bitbucket",
  "admin:project:bitbucket",
  "read:workspace:bitbucket",
  "admin:workspace:bitbucket",
  "read:user:bitbucket",
  "write:user:bitbucket",
  "read:pipeline:bitbucket",
  "write:pipeline:bitbucket",
  "admin:pipeline:bitbucket",
  "read:runner:bitbucket",
  "write:runner:bitbucket",
  "read:issue:bitbucket",
  "write:issue:bitbucket",
  "delete:issue:bitbucket",
  "read:webhook:bitbucket",
  "write:webhook:bitbucket",
  "delete:webhook:bitbucket",
  "read:snippet:bitbucket",
  "write:snippet:bitbucket",
  "delete:snippet:bitbucket",
  "read:ssh-key:bitbucket",
  "write:ssh-key:bitbucket",
  "delete:ssh-key:bitbucket",
  "read:gpg-key:bitbucket",
  "write:gpg-key:bitbucket",
  "delete:gpg-key:bitbucket",
  "read:permission:bitbucket",
  "write:permission:bitbucket",
  "delete:permission:bitbucket",
] as const;

/** The read-only classic scopes the seeded "full" OAuth consumer gets. */
export const CLASSIC_READ_SCOPES = [
  "account",
  "email",
  "repository",
  "pullrequest",
  "pipeline",
  "project",
  "team",
  "webhook",
  "issue",
  "snippet",
  "wiki",
  "runner",
] as const;

/** Every `read:*:bitbucket` scope: what the seeded owner API token holds. */
export const GRANULAR_READ_SCOPES: readonly string[] = GRANULAR_SCOPES.filter((s) => s.startsWith("read:"));

/** Scopes a repository access token may be created with (narrative docs, "Repository access tokens"). */
export const REPOSITORY_TOKEN_SCOPES = [
  "repository",
  "repository:write",
  "repository:admin",
  "repository:delete",
  "pullrequest",
  "pullrequest:write",
  "webhook",
  "pipeline",
  "pipeline:write",
  "pipeline:variable",
  "runner",
  "runner:write",
] as const;

/** Project access tokens add `project`. */
export const PROJECT_TOKEN_SCOPES = ["project", ...REPOSITORY_TOKEN_SCOPES] as const;

/** Workspace access tokens add `project:admin` and `account` on top of the project set. */
export const WORKSPACE_TOKEN_SCOPES = [...PROJECT_TOKEN_SCOPES, "project:admin", "account"] as const;

/** Direct implications between classic scopes; `expandClassicScopes` follows them transitively. */
const IMPLIES: Readonly<Record<string, readonly string[]>> = {
  account: ["email"], // the account scope covers the user's email addresses
  "account:write": ["account"],
  "issue:write": ["issue"],
  "pipeline:write": ["pipeline"],
  "pipeline:variable": ["pipeline"],
  project: ["repository"], // read access to the repositories of the project(s)
  "project:write": ["project"],
  pullrequest: ["repository"], // read access to the destination repository
  "pullrequest:write": ["pullrequest", "repository:write"],
  "repository:write": ["repository"],
  "runner:write": ["runner"],
  "snippet:write": ["snippet"],
  "team:write": ["team"],
  "test:write": ["test"],
};

/** The classic scopes `granted` effectively gives, with every implication applied. */
export function expandClassicScopes(granted: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const pending = [...granted];
  for (let scope = pending.pop(); scope !== undefined; scope = pending.pop()) {
    if (out.has(scope)) continue;
    out.add(scope);
    for (const implied of IMPLIES[scope] ?? []) pending.push(implied);
  }
  return out;
}

/** Which of `required` the principal lacks (empty when the call may proceed). */
export function missingScopes(principal: Principal, required: RequiredScopes): string[] {
  if (principal.kind === "api_token") return required.granular.filter((s) => !principal.scopes.has(s));
  const effective = expandClassicScopes(principal.scopes);
  return required.classic.filter((s) => !effective.has(s));
}

export const INSUFFICIENT_SCOPES_MESSAGE = "Your credentials lack one or more required privilege scopes.";

/**
 * Throws 403 unless the principal holds every scope the operation needs. API tokens are checked against the
 * granular list, OAuth and access tokens against the classic list (with implications). All scopes of a list
 * are required. An empty list means the operation needs no scope of that style.
 */
export function requireScopes(principal: Principal, required: RequiredScopes): void {
  const missing = missingScopes(principal, required);
  if (missing.length === 0) return;
  const needed = principal.kind === "api_token" ? [...required.granular] : [...required.classic];
  const granted = [...principal.scopes].sort();
  throw errors.forbidden(
    INSUFFICIENT_SCOPES_MESSAGE,
    `Missing scope${missing.length === 1 ? "" : "s"}: ${missing.join(", ")}. ` +
      `This API requires: ${needed.join(", ")}. ` +
      `Granted: ${granted.length > 0 ? granted.join(", ") : "(none)"}.`,
    { required: needed, granted, missing },
  );
}

/** Short descriptions for the consent page, in the simulator's own words. */
export const CLASSIC_SCOPE_LABELS: Readonly<Record<string, string>> = {
  account: "See your account details",
  "account:write": "Change your account details",
  email: "See your primary email address",
  issue: "See and take part in issue trackers",
  "issue:write": "Change and delete issues",
  pipeline: "See pipelines, steps, environments and variables",
  "pipeline:variable": "Manage pipeline variables",
  "pipeline:write": "Run, stop and rerun pipelines",
  project: "See projects and the repositories in them",
  "project:admin": "Administer projects",
  "project:write": "Change projects (deprecated)",
  pullrequest: "See pull requests and their repositories",
  "pullrequest:write": "Create, approve, merge and decline pull requests",
  repository: "See repositories and their source",
  "repository:admin": "Administer repositories",
  "repository:delete": "Delete repositories",
  "repository:write": "Push to and fork repositories",
  runner: "See pipeline runners",
  "runner:write": "Manage pipeline runners",
  snippet: "See snippets",
  "snippet:write": "Create, change and delete snippets",
  team: "See your workspace memberships",
  "team:write": "Change your workspace memberships",
  test: "See test reports",
  "test:write": "Change test reports",
  webhook: "See and manage webhooks",
  wiki: "See and edit wikis",
};
