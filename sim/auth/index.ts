export { basicAuthorization, escapeHtml } from "./headers.js";
export {
  accessTokenEndpoint,
  authorizeEndpoint,
  handleOAuthRequest,
  OAUTH_AUTHORIZE_PATH,
  OAUTH_TOKEN_PATH,
} from "./oauth.js";
export type { CredentialKind, Principal, RequiredScopes, ResourceBinding } from "./principal.js";
export * from "./registry.js";
export * from "./scopes.js";
