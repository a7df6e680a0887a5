/** The Bitbucket half's public surface. */
export * from "./auth.js";
export * from "./budget.js";
export * from "./client.js";
export * from "./connection-properties.js";
export * from "./http-errors.js";
export * from "./retry.js";
export * from "./token-store.js";
export type * from "./types.js";
export * from "./urls.js";
