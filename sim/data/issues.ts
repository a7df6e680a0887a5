import { bitbucketTimestamp } from "../clock.js";
import type { Random } from "../random.js";
import { Entity } from "./entity.js";
import type { RepositoryState, UserRecord } from "./model.js";
import { COMMENT_TEXTS, COMMIT_OBJECTS } from "./names.js";
import { type Renderer, rendered } from "./render.js";
import type { Counts } from "./scale.js";

const HOUR = 3_600_000;
const STATES = ["new", "open", "resolved", "closed", "on hold", "invalid", "duplicate", "wontfix"];
const KINDS = ["bug", "enhancement", "proposal", "task"];
const PRIORITIES = ["trivial", "minor", "major", "critical", "blocker"];

/** The retired issue tracker's data, served only in `--legacy-issues` mode. */
export function addLegacyIssues(
  repo: RepositoryState,
  rnd: Random,
  counts: Counts,
  members: UserRecord[],
  r: Renderer,
): void {
  const full = `${repo.workspace.slug}/${repo.slug}`;
  const first = repo.commits[0]?.date ?? 0;
  const last = repo.commits[repo.commits.length - 1]?.date ?? first;
  for (let id = 1; id <= counts.issues; id++) {
    const created = first + Math.round((id / (counts.issues + 1)) * (last - first));
    const updated = created + rnd.int(1, 500) * HOUR;
    const reporter = rnd.pick(members);
    const assignee = rnd.chance(0.7) ? rnd.pick(members) : undefined;
    const title = `${rnd.pick(["Broken", "Slow", "Missing", "Confusing"])} ${rnd.pick(COMMIT_OBJECTS)}`;
    const base = `/repositories/${full}/issues/${id}`;
    const issue = Entity.of({
      type: "issue",
      id,
      repository: r.repositorySummary(repo),
      links: {
        self: r.api(base),
        html: r.html(`/${full}/issues/${id}`),
        comments: r.api(`${base}/comments`),
        attachments: r.api(`${base}/attachments`),
        watch: r.api(`${base}/watch`),
        vote: r.api(`${base}/vote`),
      },
      title,
      reporter: r.account(reporter),
      assignee: assignee ? r.account(assignee) : null,
      created_on: bitbucketTimestamp(created),
      updated_on: bitbucketTimestamp(updated),
      edited_on: null,
      state: rnd.pick(STATES),
      kind: rnd.pick(KINDS),
      priority: rnd.pick(PRIORITIES),
      milestone: null,
      version: null,
      component: null,
      votes: rnd.int(0, 5),
      watches: rnd.int(0, 5),
      content: rendered(`${title}: steps to reproduce are in the attached log.`),
    });
    const comments: Entity[] = [];
    const n = rnd.int(0, 3);
    for (let c = 0; c < n; c++) {
      const cid = repo.nextCommentId++;
      const at = created + (c + 1) * HOUR;
      comments.push(
        Entity.of({
          type: "issue_comment",
          id: cid,
          created_on: bitbucketTimestamp(at),
          updated_on: bitbucketTimestamp(at),
          content: rendered(rnd.pick(COMMENT_TEXTS)),
          user: r.account(rnd.pick(members)),
          deleted: false,
          links: {
            self: r.api(`${base}/comments/${cid}`),
            html: r.html(`/${full}/issues/${id}#comment-${cid}`),
          },
          issue: {
            type: "issue",
            id,
            title,
            repository: r.repositorySummary(repo),
            links: { self: r.api(base) },
          },
        }),
      );
    }
    repo.issues.push({ id, entity: issue, comments });
  }
}
