/** Who is calling, as the simulator's auth layer resolved it from the Authorization header. */
export type CredentialKind = "oauth" | "api_token" | "access_token";

/** Workspace, project or repository access tokens are bound to one resource. */
export interface ResourceBinding {
  readonly workspace: string; // workspace slug
  readonly project?: string; // project key
  readonly repository?: string; // repository slug
}

export interface Principal {
  /** Stable id for rate limiting and stats: one budget per OAuth consumer, API-token user or access token. */
  readonly credentialId: string;
  readonly kind: CredentialKind;
  /** Classic scopes (OAuth, access tokens) or granular `read:*:bitbucket` scopes (API tokens). */
  readonly scopes: ReadonlySet<string>;
  /** UUID of the account the calls run as (for access tokens, the token's pseudo-user). */
  readonly accountUuid: string;
  readonly binding?: ResourceBinding;
  /** Human-readable name of the credential: the consumer's, API token's or access token's name. */
  readonly label?: string;
}

/** Both scope styles Bitbucket's spec lists for an operation. */
export interface RequiredScopes {
  readonly classic: readonly string[];
  readonly granular: readonly string[];
}
