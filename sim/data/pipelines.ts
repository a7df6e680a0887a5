import { bitbucketTimestamp } from "../clock.js";
import type { Random } from "../random.js";
import { Entity, type Json } from "./entity.js";
import { MAIN_BRANCH } from "./git.js";
import type { CommitRecord, RepositoryState, UserRecord } from "./model.js";
import { ENVIRONMENTS } from "./names.js";
import type { Renderer } from "./render.js";
import type { Counts } from "./scale.js";

const MINUTE = 60_000;
const RESULTS = ["SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL", "FAILED", "STOPPED"];
const STEP_NAMES = ["Build", "Test", "Lint", "Deploy"];

/** Pipelines on main-line commits, their steps and build statuses, environments and deployments. */
export function addPipelinesAndDeployments(
  repo: RepositoryState,
  rnd: Random,
  counts: Counts,
  members: UserRecord[],
  r: Renderer,
): void {
  const base = `/repositories/${repo.workspace.slug}/${repo.slug}`;
  const candidates = mainLine(repo).filter((c) => c.parents.length > 0);
  if (candidates.length === 0) return;
  for (let i = 0; i < counts.pipelines; i++) {
    const commit =
      candidates[Math.floor(((i + 1) / (counts.pipelines + 1)) * candidates.length)] ?? candidates[0];
    if (!commit) break;
    const uuid = rnd.uuid();
    const created = commit.date + rnd.int(1, 5) * MINUTE;
    const running = i >= counts.pipelines - 1 && counts.pipelines > 3;
    const result = rnd.pick(RESULTS);
    const stepCount = rnd.int(1, 3);
    const steps: Entity[] = [];
    let t = created + MINUTE;
    for (let s = 0; s < stepCount; s++) {
      const duration = rnd.int(1, 12) * MINUTE;
      const stepResult = s === stepCount - 1 ? result : "SUCCESSFUL";
      const done = !running || s < stepCount - 1;
      steps.push(
        Entity.of({
          type: "pipeline_step",
          uuid: rnd.uuid(),
          name: STEP_NAMES[s] ?? `Step ${s + 1}`,
          started_on: bitbucketTimestamp(t),
          ...(done ? { completed_on: bitbucketTimestamp(t + duration) } : {}),
          state: done
            ? {
                type: "pipeline_step_state_completed",
                name: "COMPLETED",
                result: {
                  type: `pipeline_step_state_completed_${stepResult.toLowerCase()}`,
                  name: stepResult,
                },
              }
            : { type: "pipeline_step_state_in_progress", name: "IN_PROGRESS" },
          image: { name: "atlassian/default-image:4" },
          setup_commands: [{ name: "Clone", command: "git clone" }],
          script_commands: [{ name: "Script", command: "npm ci && npm test" }],
          pipeline: { type: "pipeline", uuid },
          run_number: 1,
          duration_in_seconds: done ? duration / 1000 : 0,
          max_time: 120,
        }),
      );
      t += duration;
    }
    const completed = running ? undefined : t;
    const state: Json = running
      ? {
          type: "pipeline_state_in_progress",
          name: "IN_PROGRESS",
          stage: { type: "pipeline_state_in_progress_running", name: "RUNNING" },
        }
      : {
          type: "pipeline_state_completed",
          name: "COMPLETED",
          result: { type: `pipeline_state_completed_${result.toLowerCase()}`, name: result },
        };
    const entity = Entity.of({
      type: "pipeline",
      uuid,
      build_number: i + 1,
      creator: r.account(commit.author),
      repository: r.repositorySummary(repo),
      target: {
        type: "pipeline_ref_target",
        ref_type: "branch",
        ref_name: MAIN_BRANCH,
        selector: { type: "branches", pattern: MAIN_BRANCH },
        commit: r.commitRef(repo, commit.hash),
      },
      trigger: { type: "pipeline_trigger_push", name: "PUSH" },
      state,
      created_on: bitbucketTimestamp(created),
      ...(completed ? { completed_on: bitbucketTimestamp(completed) } : {}),
      build_seconds_used: Math.round(((completed ?? t) - created) / 1000),
      run_number: 1,
      duration_in_seconds: Math.round(((completed ?? t) - created) / 1000),
      first_successful: false,
      expired: false,
      has_variables: false,
      links: {
        self: r.api(`${base}/pipelines/${encodeURIComponent(uuid)}`),
        steps: r.api(`${base}/pipelines/${encodeURIComponent(uuid)}/steps`),
      },
    });
    repo.pipelines.push({ uuid, entity, steps });
    addStatus(repo, r, commit.hash, {
      key: uuid.slice(1, 9).toUpperCase(),
      state: running
        ? "INPROGRESS"
        : result === "SUCCESSFUL"
          ? "SUCCESSFUL"
          : result === "STOPPED"
            ? "STOPPED"
            : "FAILED",
      name: `Pipeline #${i + 1} for ${MAIN_BRANCH}`,
      url: `https://bitbucket.org/${repo.workspace.slug}/${repo.slug}/pipelines/results/${i + 1}`,
      createdOn: created,
      updatedOn: completed ?? created,
    });
  }

  const environments = ENVIRONMENTS.map(([name, type, rank]) => {
    const uuid = rnd.uuid();
    const entity = Entity.of({
      type: "deployment_environment",
      uuid,
      name,
      slug: name.toLowerCase(),
      rank,
      environment_type: { type: "deployment_environment_type", name: type, rank },
      lock: { type: "deployment_environment_lock_open", name: "OPEN" },
      restrictions: { type: "deployment_restrictions_configuration", admin_only: false },
      hidden: false,
      environment_lock_enabled: true,
      deployment_gate_enabled: false,
      category: { name: type },
    });
    repo.environments.push(entity);
    return { uuid, name };
  });

  const finished = repo.pipelines.filter((p) => p.entity.value.completed_on);
  for (let d = 0; d < counts.deployments && finished.length > 0; d++) {
    const pipeline =
      finished[Math.floor(((d + 1) / (counts.deployments + 1)) * finished.length)] ?? finished[0];
    if (!pipeline) break;
    const env = environments[d % environments.length] as { uuid: string; name: string };
    const p = pipeline.entity.value;
    const started = Date.parse(p.completed_on as string) + rnd.int(1, 30) * MINUTE;
    const last = d >= counts.deployments - 1;
    const deployer = rnd.pick(members);
    const state = last
      ? {
          type: "deployment_state_in_progress",
          name: "IN_PROGRESS",
          deployer: r.account(deployer),
          start_date: bitbucketTimestamp(started),
        }
      : {
          type: "deployment_state_completed",
          name: "COMPLETED",
          deployer: r.account(deployer),
          status: rnd.chance(0.9)
            ? { type: "deployment_state_completed_status_successful", name: "SUCCESSFUL" }
            : { type: "deployment_state_completed_status_failed", name: "FAILED" },
          start_date: bitbucketTimestamp(started),
          completion_date: bitbucketTimestamp(started + rnd.int(1, 20) * MINUTE),
          url: `https://bitbucket.org/${repo.workspace.slug}/${repo.slug}/pipelines/results/${p.build_number}`,
        };
    const target = p.target as Json;
    repo.deployments.push(
      Entity.of({
        type: "deployment",
        uuid: rnd.uuid(),
        number: d + 1,
        key: rnd.uuid(),
        state,
        environment: { type: "deployment_environment", uuid: env.uuid },
        release: {
          type: "deployment_release",
          uuid: pipeline.uuid,
          name: `#${p.build_number}`,
          url: `https://bitbucket.org/${repo.workspace.slug}/${repo.slug}/addon/pipelines/home#!/results/${p.build_number}`,
          commit: target.commit,
          created_on: p.created_on,
        },
        deployable: {
          type: "deployment_deployable",
          uuid: pipeline.uuid,
          name: `#${p.build_number}`,
          pipeline: { type: "pipeline", uuid: pipeline.uuid },
        },
        last_update_time: bitbucketTimestamp(started),
      }),
    );
  }
}

/**
 * The main branch's first-parent history, oldest first: the commits a push to main built. Pipelines say they
 * ran for `main`, so their commits must be ones main actually pointed at, never a topic branch's.
 */
function mainLine(repo: RepositoryState): CommitRecord[] {
  const line: CommitRecord[] = [];
  const head = repo.branches.get(MAIN_BRANCH)?.head;
  for (let c = head ? repo.commitsByHash.get(head) : undefined; c; ) {
    line.push(c);
    const parent = c.parents[0];
    c = parent === undefined ? undefined : repo.commitsByHash.get(parent);
  }
  return line.reverse();
}

export interface StatusInput {
  key: string;
  state: "SUCCESSFUL" | "FAILED" | "INPROGRESS" | "STOPPED";
  name: string;
  url: string;
  createdOn: number;
  updatedOn: number;
  refname?: string;
}

export function addStatus(repo: RepositoryState, r: Renderer, hash: string, s: StatusInput): Entity {
  const base = `/repositories/${repo.workspace.slug}/${repo.slug}/commit/${hash}`;
  const entity = Entity.of({
    type: "build",
    key: s.key,
    refname: s.refname ?? MAIN_BRANCH,
    url: s.url,
    state: s.state,
    name: s.name,
    description:
      s.state === "SUCCESSFUL"
        ? "Build passed"
        : s.state === "INPROGRESS"
          ? "Build running"
          : "Build did not pass",
    created_on: bitbucketTimestamp(s.createdOn),
    updated_on: bitbucketTimestamp(s.updatedOn),
    links: {
      self: r.api(`${base}/statuses/build/${encodeURIComponent(s.key)}`),
      commit: r.api(base),
    },
    commit: r.commitRef(repo, hash),
  });
  const list = repo.statuses.get(hash) ?? [];
  list.push(entity);
  repo.statuses.set(hash, list);
  return entity;
}
