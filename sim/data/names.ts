/** Word lists the generator draws names from; fixed so generated data is stable across versions. */
export const WORKSPACE_SLUGS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"];

export const PROJECT_NAMES = [
  ["CORE", "Core platform"],
  ["WEB", "Web experience"],
  ["MOB", "Mobile"],
  ["DATA", "Data and analytics"],
  ["OPS", "Operations"],
  ["SEC", "Security"],
  ["PAY", "Payments"],
  ["ML", "Machine learning"],
] as const;

export const REPO_WORDS = [
  "web",
  "api",
  "mobile-app",
  "billing",
  "infra",
  "docs",
  "auth-service",
  "search",
  "notifications",
  "data-pipeline",
  "design-system",
  "gateway",
  "reporting",
  "scheduler",
  "inventory",
  "checkout",
];

export const LANGUAGES = ["typescript", "python", "java", "go", "kotlin", "ruby", "rust", "c#"];

export const FIRST_NAMES = [
  "Ada",
  "Grace",
  "Alan",
  "Edsger",
  "Barbara",
  "Ken",
  "Margaret",
  "Donald",
  "Frances",
  "Linus",
  "Radia",
  "Dennis",
  "Katherine",
  "Tim",
  "Hedy",
  "Niklaus",
];

export const LAST_NAMES = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Thompson",
  "Hamilton",
  "Knuth",
  "Allen",
  "Torvalds",
  "Perlman",
  "Ritchie",
  "Johnson",
  "Berners-Lee",
  "Lamarr",
  "Wirth",
];

export const BRANCH_TOPICS = [
  "login",
  "cache",
  "search",
  "retry",
  "export",
  "metrics",
  "i18n",
  "billing",
  "upload",
  "audit",
  "webhooks",
  "dark-mode",
];

export const COMMIT_VERBS = ["Add", "Fix", "Refactor", "Update", "Remove", "Improve", "Document", "Test"];

export const COMMIT_OBJECTS = [
  "login form validation",
  "cache invalidation",
  "search ranking",
  "retry policy",
  "CSV export",
  "metrics endpoint",
  "translations",
  "invoice totals",
  "upload limits",
  "audit log",
  "webhook signatures",
  "dark mode colours",
  "dependency versions",
  "flaky test",
  "README",
];

export const COMMENT_TEXTS = [
  "Looks good to me.",
  "Could we add a test for this case?",
  "Nit: naming.",
  "Why not reuse the existing helper here?",
  "This changes the public API; please update the docs.",
  "Done.",
  "Good catch, fixed.",
  "Can you split this into two commits?",
];

export const ENVIRONMENTS = [
  ["Test", "Test", 0],
  ["Staging", "Staging", 1],
  ["Production", "Production", 2],
] as const;
