/**
 * The parts of Bitbucket Cloud's objects that bitbridge reads, as the API serves them (snake_case,
 * optional where the service may leave a field out or send null). Table columns are typed accessors
 * over these, so a misspelt field is a compile error rather than a silently empty column.
 */
export interface Link {
  href?: string;
}

export interface Account {
  type?: string;
  uuid?: string;
  account_id?: string;
  display_name?: string;
  nickname?: string;
  email?: string;
  links?: { html?: Link; avatar?: Link };
}

export interface Rendered {
  raw?: string;
  markup?: string;
  html?: string;
}

export interface WorkspaceSummary {
  uuid?: string;
  slug?: string;
  name?: string;
}

export interface WorkspaceAccess {
  administrator?: boolean;
  workspace?: WorkspaceSummary;
}

export interface Workspace extends WorkspaceSummary {
  is_private?: boolean;
  created_on?: string;
  updated_on?: string;
  links?: { html?: Link };
}

export interface Project {
  uuid?: string;
  key?: string;
  name?: string;
  description?: string;
  is_private?: boolean;
  created_on?: string;
  updated_on?: string;
  has_publicly_visible_repos?: boolean;
  links?: { html?: Link };
}

export interface WorkspaceMembership {
  user?: Account;
  workspace?: WorkspaceSummary;
  added_on?: string | null;
  last_accessed?: string | null;
}

export interface RepositorySummary {
  uuid?: string;
  full_name?: string;
  name?: string;
}

export interface Repository extends RepositorySummary {
  slug?: string;
  description?: string;
  is_private?: boolean;
  created_on?: string;
  updated_on?: string;
  size?: number;
  language?: string;
  fork_policy?: string;
  has_issues?: boolean;
  has_wiki?: boolean;
  mainbranch?: { name?: string } | null;
  project?: { uuid?: string; key?: string; name?: string } | null;
  workspace?: WorkspaceSummary;
  parent?: RepositorySummary | null;
  links?: { html?: Link };
}

export interface PullRequestEndpoint {
  branch?: { name?: string };
  commit?: { hash?: string } | null;
  repository?: RepositorySummary | null;
}

export interface Participant {
  user?: Account;
  role?: string;
  approved?: boolean;
  state?: string | null;
  participated_on?: string | null;
}

export interface PullRequest {
  id?: number;
  title?: string;
  description?: string;
  state?: string;
  draft?: boolean;
  author?: Account;
  source?: PullRequestEndpoint;
  destination?: PullRequestEndpoint;
  merge_commit?: { hash?: string } | null;
  close_source_branch?: boolean;
  closed_by?: Account | null;
  reason?: string;
  comment_count?: number;
  task_count?: number;
  created_on?: string;
  updated_on?: string;
  reviewers?: Account[];
  participants?: Participant[];
  links?: { html?: Link };
}

export interface Comment {
  id?: number;
  content?: Rendered;
  user?: Account;
  created_on?: string;
  updated_on?: string;
  deleted?: boolean;
  pending?: boolean;
  parent?: { id?: number } | null;
  inline?: { path?: string; from?: number | null; to?: number | null } | null;
  resolution?: { user?: Account; created_on?: string } | null;
  links?: { html?: Link };
}

export interface PullRequestRef {
  id?: number;
  title?: string;
}

export interface PullRequestActivity {
  pull_request?: PullRequestRef;
  update?: { state?: string; title?: string; description?: string; date?: string; author?: Account };
  approval?: { date?: string; user?: Account };
  changes_requested?: { date?: string; user?: Account };
  comment?: Comment;
}

export interface Commit {
  hash?: string;
  date?: string;
  message?: string;
  author?: { raw?: string; user?: Account };
  parents?: { hash?: string }[];
  summary?: Rendered;
  links?: { html?: Link };
}

export interface Ref {
  name?: string;
  target?: Commit;
  default_merge_strategy?: string;
  merge_strategies?: string[];
  message?: string | null;
  date?: string | null;
  tagger?: { raw?: string; user?: Account } | null;
}

export interface CommitStatus {
  key?: string;
  uuid?: string;
  name?: string;
  state?: string;
  description?: string;
  url?: string;
  refname?: string | null;
  created_on?: string;
  updated_on?: string;
}

export interface NamedState {
  name?: string;
  type?: string;
  result?: { name?: string } | null;
  stage?: { name?: string } | null;
  status?: { name?: string } | null;
}

export interface Pipeline {
  uuid?: string;
  build_number?: number;
  creator?: Account | null;
  state?: NamedState;
  target?: {
    type?: string;
    ref_type?: string;
    ref_name?: string;
    commit?: { hash?: string } | null;
    selector?: { type?: string; pattern?: string } | null;
  };
  trigger?: { name?: string; type?: string };
  created_on?: string;
  completed_on?: string | null;
  build_seconds_used?: number;
  duration_in_seconds?: number;
  run_number?: number;
}

export interface PipelineStep {
  uuid?: string;
  name?: string;
  state?: NamedState;
  started_on?: string | null;
  completed_on?: string | null;
  duration_in_seconds?: number;
  run_number?: number;
  image?: { name?: string } | null;
  pipeline?: { uuid?: string };
}

export interface Environment {
  uuid?: string;
  name?: string;
  slug?: string;
  rank?: number;
  environment_type?: { name?: string } | null;
  hidden?: boolean;
  lock?: { name?: string } | null;
}

export interface Deployment {
  uuid?: string;
  number?: number;
  state?: NamedState & {
    deployer?: Account | null;
    start_date?: string | null;
    completion_date?: string | null;
    url?: string | null;
  };
  environment?: { uuid?: string };
  release?: {
    uuid?: string;
    name?: string;
    url?: string;
    commit?: { hash?: string } | null;
    created_on?: string;
  };
  last_update_time?: string | null;
}

export interface Issue {
  id?: number;
  title?: string;
  content?: Rendered;
  state?: string;
  kind?: string;
  priority?: string;
  reporter?: Account | null;
  assignee?: Account | null;
  votes?: number;
  created_on?: string;
  updated_on?: string | null;
  edited_on?: string | null;
}
