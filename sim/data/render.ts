import { bitbucketTimestamp, gitTimestamp } from "../clock.js";
import type { Json } from "./entity.js";
import type { CommitRecord, RepositoryState, UserRecord, WorkspaceState } from "./model.js";

/** Builds the API's objects. Link sets follow the spec's per-schema `links` properties exactly. */
export class Renderer {
  // Embedded summaries are identical wherever they appear; sharing one object per user or repository
  // keeps a large data set's memory (and garbage collection) down.
  private readonly accounts = new WeakMap<UserRecord, Json>();
  private readonly repositories = new WeakMap<RepositoryState, Json>();

  constructor(
    /** e.g. `http://127.0.0.1:7990` — API links become `${origin}/2.0/...`. */
    private readonly origin: string,
    private readonly htmlOrigin = "https://bitbucket.org",
  ) {}

  api(path: string): { href: string } {
    return { href: `${this.origin}/2.0${path}` };
  }

  html(path: string): { href: string } {
    return { href: `${this.htmlOrigin}${path}` };
  }

  avatar(kind: string, id: string): { href: string } {
    return { href: `${this.htmlOrigin}/account/${kind}/${encodeURIComponent(id)}/avatar/` };
  }

  /** The account summary embedded in other objects. */
  account(user: UserRecord): Json {
    const cached = this.accounts.get(user);
    if (cached) return cached;
    const id = encodeURIComponent(user.uuid);
    const account = {
      display_name: user.displayName,
      links: {
        self: this.api(`/users/${id}`),
        avatar: this.avatar("user", user.accountId),
        html: this.html(`/${id}/`),
      },
      type: "user",
      uuid: user.uuid,
      account_id: user.accountId,
      nickname: user.nickname,
    };
    this.accounts.set(user, account);
    return account;
  }

  /** `GET /user` and member objects: the full user. `email` is hidden unless asked for. */
  user(user: UserRecord): Json {
    return {
      ...this.account(user),
      created_on: bitbucketTimestamp(user.createdOn),
      account_status: "active",
      has_2fa_enabled: false,
      is_staff: false,
      email: user.email,
    };
  }

  workspaceSummary(ws: WorkspaceState): Json {
    return {
      type: "workspace",
      uuid: ws.uuid,
      name: ws.name,
      slug: ws.slug,
      links: {
        avatar: this.avatar("workspace", ws.slug),
        html: this.html(`/${ws.slug}/`),
        self: this.api(`/workspaces/${ws.slug}`),
      },
    };
  }

  /**
   * The `workspace_base` form `GET /user/workspaces` embeds: no `name`, and only the `avatar` and `self` links
   * (the spec closes `workspace_base.links`).
   */
  workspaceBase(ws: WorkspaceState): Json {
    return {
      type: "workspace_base",
      uuid: ws.uuid,
      slug: ws.slug,
      links: {
        avatar: this.avatar("workspace", ws.slug),
        self: this.api(`/workspaces/${ws.slug}`),
      },
    };
  }

  workspace(ws: WorkspaceState, createdOn: number, updatedOn: number): Json {
    const w = ws.slug;
    return {
      type: "workspace",
      uuid: ws.uuid,
      name: ws.name,
      slug: w,
      is_private: true,
      is_privacy_enforced: false,
      forking_mode: "allow_forks",
      created_on: bitbucketTimestamp(createdOn),
      updated_on: bitbucketTimestamp(updatedOn),
      links: {
        avatar: this.avatar("workspace", w),
        html: this.html(`/${w}/`),
        members: this.api(`/workspaces/${w}/members`),
        owners: this.api(`/workspaces/${w}/members?q=permission%3D%22owner%22`),
        projects: this.api(`/workspaces/${w}/projects`),
        repositories: this.api(`/repositories/${w}`),
        snippets: this.api(`/snippets/${w}`),
        self: this.api(`/workspaces/${w}`),
      },
    };
  }

  /** Projects and repositories name their workspace as a `team` owner. */
  team(ws: WorkspaceState): Json {
    return {
      display_name: ws.name,
      links: {
        self: this.api(`/workspaces/${ws.slug}`),
        avatar: this.avatar("workspace", ws.slug),
        html: this.html(`/${ws.slug}/`),
      },
      type: "team",
      uuid: ws.uuid,
      username: ws.slug,
    };
  }

  projectSummary(ws: WorkspaceState, key: string, uuid: string, name: string): Json {
    return {
      type: "project",
      key,
      uuid,
      name,
      links: {
        html: this.html(`/${ws.slug}/workspace/projects/${key}`),
        avatar: this.avatar("project", uuid),
      },
    };
  }

  repositorySummary(repo: RepositoryState): Json {
    const cached = this.repositories.get(repo);
    if (cached) return cached;
    const full = `${repo.workspace.slug}/${repo.slug}`;
    const summary = {
      type: "repository",
      full_name: full,
      links: {
        self: this.api(`/repositories/${full}`),
        html: this.html(`/${full}`),
        avatar: this.avatar("repository", repo.uuid),
      },
      name: repo.slug,
      uuid: repo.uuid,
    };
    this.repositories.set(repo, summary);
    return summary;
  }

  repositoryLinks(repo: RepositoryState): Json {
    const full = `${repo.workspace.slug}/${repo.slug}`;
    return {
      self: this.api(`/repositories/${full}`),
      html: this.html(`/${full}`),
      avatar: this.avatar("repository", repo.uuid),
      pullrequests: this.api(`/repositories/${full}/pullrequests`),
      commits: this.api(`/repositories/${full}/commits`),
      forks: this.api(`/repositories/${full}/forks`),
      watchers: this.api(`/repositories/${full}/watchers`),
      downloads: this.api(`/repositories/${full}/downloads`),
      clone: [
        {
          name: "https",
          href: `${this.htmlOrigin.replace("://", `://${repo.workspace.slug}@`)}/${full}.git`,
        },
        { name: "ssh", href: `git@${new URL(this.htmlOrigin).host}:${full}.git` },
      ],
      hooks: this.api(`/repositories/${full}/hooks`),
    };
  }

  commitRef(repo: RepositoryState, hash: string): Json {
    const full = `${repo.workspace.slug}/${repo.slug}`;
    return {
      type: "commit",
      hash,
      links: {
        self: this.api(`/repositories/${full}/commit/${hash}`),
        html: this.html(`/${full}/commits/${hash}`),
      },
    };
  }

  /**
   * `commit()` serialised directly, byte for byte what `JSON.stringify(commit())` gives (a test holds
   * the two together). Commits are the bulk of every large sync; shared fragments (account, repository)
   * are serialised once, which makes a cold page about three times cheaper.
   */
  commitJson(repo: RepositoryState, commit: CommitRecord): string {
    const full = `${repo.workspace.slug}/${repo.slug}`;
    const api = `${this.origin}/2.0/repositories/${full}`;
    const html = `${this.htmlOrigin}/${full}/commits/`;
    const h = commit.hash;
    const summary = this.renderedJson(commit.message);
    const parents = commit.parents
      .map(
        (p) =>
          `{"type":"commit","hash":"${p}","links":{"self":{"href":"${api}/commit/${p}"},"html":{"href":"${html}${p}"}}}`,
      )
      .join(",");
    return (
      `{"type":"commit","hash":"${h}","date":"${gitTimestamp(commit.date)}",` +
      `"author":{"type":"author","raw":${JSON.stringify(`${commit.author.displayName} <${commit.author.email}>`)},` +
      `"user":${this.fragment(this.account(commit.author))}},` +
      `"message":${JSON.stringify(`${commit.message}\n`)},"summary":${summary},` +
      `"links":{"self":{"href":"${api}/commit/${h}"},"html":{"href":"${html}${h}"},` +
      `"diff":{"href":"${api}/diff/${h}"},"approve":{"href":"${api}/commit/${h}/approve"},` +
      `"comments":{"href":"${api}/commit/${h}/comments"},"statuses":{"href":"${api}/commit/${h}/statuses"},` +
      `"patch":{"href":"${api}/patch/${h}"}},"parents":[${parents}],` +
      `"repository":${this.fragment(this.repositorySummary(repo))},"rendered":{"message":${summary}}}`
    );
  }

  private readonly fragments = new WeakMap<Json, string>();

  /** JSON of a shared (cached, never mutated) sub-object. */
  private fragment(value: Json): string {
    let text = this.fragments.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      this.fragments.set(value, text);
    }
    return text;
  }

  private renderedJson(raw: string): string {
    return JSON.stringify(rendered(raw));
  }

  commit(repo: RepositoryState, commit: CommitRecord): Json {
    const full = `${repo.workspace.slug}/${repo.slug}`;
    const base = `/repositories/${full}`;
    return {
      type: "commit",
      hash: commit.hash,
      date: gitTimestamp(commit.date),
      author: {
        type: "author",
        raw: `${commit.author.displayName} <${commit.author.email}>`,
        user: this.account(commit.author),
      },
      message: `${commit.message}\n`,
      summary: rendered(commit.message),
      links: {
        self: this.api(`${base}/commit/${commit.hash}`),
        html: this.html(`/${full}/commits/${commit.hash}`),
        diff: this.api(`${base}/diff/${commit.hash}`),
        approve: this.api(`${base}/commit/${commit.hash}/approve`),
        comments: this.api(`${base}/commit/${commit.hash}/comments`),
        statuses: this.api(`${base}/commit/${commit.hash}/statuses`),
        patch: this.api(`${base}/patch/${commit.hash}`),
      },
      parents: commit.parents.map((hash) => this.commitRef(repo, hash)),
      repository: this.repositorySummary(repo),
      rendered: { message: rendered(commit.message) },
    };
  }

  refLinks(repo: RepositoryState, kind: "branch" | "tag", name: string): Json {
    const full = `${repo.workspace.slug}/${repo.slug}`;
    const plural = kind === "branch" ? "branches" : "tags";
    const encoded = encodeURIComponent(name);
    return {
      self: this.api(`/repositories/${full}/refs/${plural}/${encoded}`),
      commits: this.api(`/repositories/${full}/commits/${encoded}`),
      html: this.html(`/${full}/${kind === "branch" ? "branch" : "commits/tag"}/${encoded}`),
    };
  }

  pullRequestRef(repo: RepositoryState, id: number, title: string): Json {
    const full = `${repo.workspace.slug}/${repo.slug}`;
    return {
      type: "pullrequest",
      id,
      title,
      links: {
        self: this.api(`/repositories/${full}/pullrequests/${id}`),
        html: this.html(`/${full}/pull-requests/${id}`),
      },
    };
  }

  pullRequestLinks(repo: RepositoryState, id: number): Json {
    const base = `/repositories/${repo.workspace.slug}/${repo.slug}/pullrequests/${id}`;
    return {
      self: this.api(base),
      html: this.html(`/${repo.workspace.slug}/${repo.slug}/pull-requests/${id}`),
      commits: this.api(`${base}/commits`),
      approve: this.api(`${base}/approve`),
      diff: this.api(`${base}/diff`),
      diffstat: this.api(`${base}/diffstat`),
      comments: this.api(`${base}/comments`),
      activity: this.api(`${base}/activity`),
      merge: this.api(`${base}/merge`),
      decline: this.api(`${base}/decline`),
    };
  }
}

/** Bitbucket's rendered-content triple. */
export function rendered(raw: string): Json {
  return { type: "rendered", raw, markup: "markdown", html: `<p>${escapeHtml(raw)}</p>` };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
