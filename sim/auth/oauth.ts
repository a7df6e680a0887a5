import { jsonResponse, type SimRequest, type SimResponse } from "../http/types.js";
import { decodeBasic, escapeHtml, readAuthorization, readForm } from "./headers.js";
import type { AuthUser, CredentialRegistry, OAuthConsumer } from "./registry.js";
import { CLASSIC_SCOPE_LABELS } from "./scopes.js";

/**
 * Bitbucket's OAuth 2.0 endpoints (served by bitbucket.org, not api.bitbucket.org) as pure handlers.
 *
 * - `GET /site/oauth2/authorize`: the consent page. There is no login in the simulator: the page acts for the
 *   owner, with a drop-down to act as another generated user instead.
 * - `POST /site/oauth2/authorize`: the consent form's target; redirects to the callback with `code` and
 *   `state`, or `error=access_denied`.
 * - `POST /site/oauth2/access_token`: grants `authorization_code`, `client_credentials` and `refresh_token`.
 */

export const OAUTH_AUTHORIZE_PATH = "/site/oauth2/authorize";
export const OAUTH_TOKEN_PATH = "/site/oauth2/access_token";

/** Routes a request to the matching OAuth endpoint; undefined when the path is not an OAuth one. */
export function handleOAuthRequest(registry: CredentialRegistry, req: SimRequest): SimResponse | undefined {
  const path = req.url.pathname.replace(/\/+$/, "");
  if (path === OAUTH_AUTHORIZE_PATH) return authorizeEndpoint(registry, req);
  if (path === OAUTH_TOKEN_PATH) return accessTokenEndpoint(registry, req);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// /site/oauth2/authorize
// ---------------------------------------------------------------------------------------------------------

const MISCONFIGURED = "This integration is misconfigured. Contact the vendor for assistance.";

export function authorizeEndpoint(registry: CredentialRegistry, req: SimRequest): SimResponse {
  const method = req.method.toUpperCase();
  if (method !== "GET" && method !== "POST") {
    const page = errorPage(405, "Method not allowed", "Use GET or POST.");
    page.headers.Allow = "GET, POST";
    return page;
  }
  const params = method === "GET" ? req.url.searchParams : readForm(req);
  const clientId = params.get("client_id") ?? "";
  const consumer = clientId === "" ? undefined : registry.findConsumer(clientId);
  if (consumer === undefined) return errorPage(400, "Invalid client_id", MISCONFIGURED);

  const requestedRedirect = nonEmpty(params.get("redirect_uri"));
  if (requestedRedirect !== undefined && requestedRedirect !== consumer.callbackUrl) {
    return errorPage(400, "Invalid redirect_uri", MISCONFIGURED);
  }
  const target = requestedRedirect ?? consumer.callbackUrl;
  const state = params.get("state");

  const responseType = params.get("response_type");
  if (responseType !== "code") {
    return redirect(target, {
      error: responseType === null ? "invalid_request" : "unsupported_response_type",
      error_description: "Only response_type=code is supported.",
      state,
    });
  }

  const accountParam = nonEmpty(params.get("account_id"));
  const user = accountParam === undefined ? registry.owner : registry.findUser(accountParam);
  if (user === undefined) return errorPage(400, "Unknown account", "The selected account does not exist.");

  if (method === "GET")
    return consentPage(registry, consumer, user, { state, redirectUri: requestedRedirect });

  const decision = params.get("decision");
  if (decision === "grant") {
    const code = registry.createAuthorizationCode(consumer.clientId, user.uuid, requestedRedirect);
    return redirect(target, { code, state });
  }
  if (decision === "deny") {
    return redirect(target, {
      error: "access_denied",
      error_description: "The user denied access to the application.",
      state,
    });
  }
  return errorPage(400, "Invalid decision", "Choose Grant access or Cancel on the authorization page.");
}

function consentPage(
  registry: CredentialRegistry,
  consumer: OAuthConsumer,
  user: AuthUser,
  request: { state: string | null; redirectUri: string | undefined },
): SimResponse {
  const hidden = (name: string, value: string) =>
    `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const fields = [hidden("client_id", consumer.clientId), hidden("response_type", "code")];
  if (request.state !== null) fields.push(hidden("state", request.state));
  if (request.redirectUri !== undefined) fields.push(hidden("redirect_uri", request.redirectUri));

  const users = registry.listUsers();
  const account =
    users.length > 1
      ? `<p><label>Act as <select name="account_id">${users
          .map(
            (u) =>
              `<option value="${escapeHtml(u.uuid)}"${u.uuid === user.uuid ? " selected" : ""}>` +
              `${escapeHtml(u.displayName)} (${escapeHtml(u.email)})</option>`,
          )
          .join("")}</select></label></p>`
      : hidden("account_id", user.uuid);

  const scopes = consumer.scopes
    .map((s) => `<li><code>${escapeHtml(s)}</code> ${escapeHtml(CLASSIC_SCOPE_LABELS[s] ?? "")}</li>`)
    .join("");

  const body = `
<h1>Authorize ${escapeHtml(consumer.name)}</h1>
<p><strong>${escapeHtml(consumer.name)}</strong> would like access to your Bitbucket account.</p>
<p>Signed in as <strong>${escapeHtml(user.displayName)}</strong> (${escapeHtml(user.email)}). This is the
Bitbucket simulator: there is no password to enter.</p>
<p>The application will be able to:</p>
<ul>${scopes}</ul>
<form method="post" action="${OAUTH_AUTHORIZE_PATH}">
${fields.join("\n")}
${account}
<p><button type="submit" name="decision" value="grant">Grant access</button>
<button type="submit" name="decision" value="deny">Cancel</button></p>
</form>
<p class="small">You will be sent back to <code>${escapeHtml(request.redirectUri ?? consumer.callbackUrl)}</code>.</p>`;
  return htmlPage(200, `Authorize ${consumer.name}`, body);
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === "" ? undefined : value;
}

function redirect(target: string, params: Record<string, string | null>): SimResponse {
  const url = new URL(target);
  for (const [key, value] of Object.entries(params)) if (value !== null) url.searchParams.set(key, value);
  return { status: 302, headers: { Location: url.toString(), "Cache-Control": "no-store" }, body: "" };
}

function htmlHeaders(): Record<string, string> {
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  };
}

function htmlPage(status: number, title: string, body: string): SimResponse {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} · Bitbucket simulator</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#172b4d}
button{font-size:1rem;padding:.4rem 1rem;margin-right:.5rem}.small{font-size:.85rem;color:#5e6c84}</style>
</head>
<body>${body}
</body>
</html>
`;
  return { status, headers: htmlHeaders(), body: html };
}

function errorPage(status: number, title: string, message: string): SimResponse {
  return htmlPage(status, title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

// ---------------------------------------------------------------------------------------------------------
// /site/oauth2/access_token
// ---------------------------------------------------------------------------------------------------------

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
) {
  return jsonResponse(status, { error, error_description: description }, { ...NO_STORE, ...headers });
}

export function accessTokenEndpoint(registry: CredentialRegistry, req: SimRequest): SimResponse {
  if (req.method.toUpperCase() !== "POST") {
    return oauthError(405, "invalid_request", "The token endpoint accepts POST only.", { Allow: "POST" });
  }
  const form = readForm(req);

  // Client authentication: HTTP Basic client_id:secret, or client_id + client_secret form fields.
  let basic: { user: string; password: string } | undefined;
  const header = readAuthorization(req);
  if (header?.scheme === "basic") {
    basic = decodeBasic(header.credentials);
    if (basic === undefined) {
      return oauthError(401, "invalid_client", "Malformed Basic client credentials.", {
        "WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"',
      });
    }
  }
  const formId = form.get("client_id");
  if (basic !== undefined && formId !== null && formId !== basic.user) {
    return oauthError(400, "invalid_request", "The client_id field does not match the Basic credentials.");
  }
  const clientId = basic?.user ?? formId;
  const secret = basic?.password ?? form.get("client_secret");
  if (clientId === null || clientId === "" || secret === null) {
    return oauthError(
      401,
      "unauthorized_client",
      "Requests must be authenticated using OAuth client credentials",
      {
        "WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"',
      },
    );
  }
  const consumer = registry.verifyConsumer(clientId, secret);
  if (consumer === undefined) {
    return oauthError(401, "invalid_client", "Invalid OAuth client credentials", {
      "WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"',
    });
  }

  const grant = form.get("grant_type");
  switch (grant) {
    case "authorization_code": {
      const code = form.get("code");
      if (code === null || code === "") return oauthError(400, "invalid_request", "Missing code parameter.");
      const redeemed = registry.redeemAuthorizationCode(
        code,
        consumer.clientId,
        nonEmpty(form.get("redirect_uri")),
      );
      if (redeemed === undefined) {
        return oauthError(
          400,
          "invalid_grant",
          "The authorization code is invalid, expired or already used.",
        );
      }
      return tokenResponse(registry.issueOAuthTokens(consumer.clientId, redeemed.accountUuid, grant));
    }
    case "client_credentials":
      return tokenResponse(registry.issueOAuthTokens(consumer.clientId, consumer.ownerUuid, grant));
    case "refresh_token": {
      const refreshToken = form.get("refresh_token");
      if (refreshToken === null || refreshToken === "") {
        return oauthError(400, "invalid_request", "Missing refresh_token parameter.");
      }
      const refreshed = registry.refreshOAuthTokens(refreshToken, consumer.clientId);
      // Bitbucket answers a dead or unknown refresh token with invalid_request rather than invalid_grant.
      if (refreshed === undefined) return oauthError(400, "invalid_request", "Invalid refresh_token");
      return tokenResponse(refreshed);
    }
    case "urn:bitbucket:oauth2:jwt":
      return oauthError(
        400,
        "unsupported_grant_type",
        "The simulator does not host Atlassian Connect apps, so the JWT grant is not available.",
      );
    default:
      return oauthError(
        400,
        "unsupported_grant_type",
        `Unsupported grant type: ${grant === null ? "None" : grant}`,
      );
  }
}

function tokenResponse(body: object): SimResponse {
  return jsonResponse(200, body, NO_STORE);
}
