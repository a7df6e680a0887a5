import { Type } from "@sinclair/typebox";
import type { FastifyReply } from "fastify";
import { BitbridgeError } from "../../app/errors.js";
import { buildAuthorizeUrl, exchangeCode, OAuthCredentials } from "../../bitbucket/auth.js";
import {
  type ConnectionProperties,
  connectionPropertiesFrom,
} from "../../bitbucket/connection-properties.js";
import { connectionKey, FileTokenStore } from "../../bitbucket/token-store.js";
import type { SavedConnection } from "../../engine/connection-store.js";
import type { RouteModule } from "../app.js";
import { OAuthStates } from "../auth/oauth-states.js";
import { originOf } from "../origin.js";
import { ErrorBody } from "../schemas.js";
import { OAUTH_CALLBACK_PATH } from "./connections.js";

/** "Connect to Bitbucket": the authorization-code flow with this server as the consumer's callback. */
export const oauthRoutes: RouteModule = (api, ctx) => {
  const states = new OAuthStates(ctx.db.pool);
  const tags = ["connections"];

  api.post(
    "/api/connections/:name/oauth",
    {
      schema: {
        summary: "Start authorizing an AuthScheme=OAuth connection: the URL of Bitbucket's consent page",
        tags,
        params: Type.Object({ name: Type.String() }),
        response: { 200: Type.Object({ authorizeUrl: Type.String() }), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const saved = await ctx.connections.get(request.params.name);
      const props = oauthProperties(saved);
      const expected = `${originOf(request)}${OAUTH_CALLBACK_PATH}`;
      // Bitbucket sends the browser to the consumer's callback, which must be this server's.
      if (new URL(props.callbackUrl).pathname.replace(/\/+$/, "") !== OAUTH_CALLBACK_PATH)
        throw new BitbridgeError(
          "OAUTH_CALLBACK_URL",
          `Set the connection's CallbackURL, and the OAuth consumer's callback URL in Bitbucket, to ${expected} (now ${props.callbackUrl}).`,
          { property: "CallbackURL", expected },
        );
      return { authorizeUrl: buildAuthorizeUrl(props, await states.issue(saved.id)) };
    },
  );

  api.get(
    OAUTH_CALLBACK_PATH,
    {
      config: { public: true },
      schema: {
        summary: "Where Bitbucket sends the browser back; redirects to the connection's page",
        tags,
        security: [],
        querystring: Type.Object({
          state: Type.Optional(Type.String()),
          code: Type.Optional(Type.String()),
          error: Type.Optional(Type.String()),
          error_description: Type.Optional(Type.String()),
        }),
        response: { 302: Type.Null({ description: "To /connections/{name}?oauth=ok or ?oauth=error" }) },
      },
    },
    async (request, reply) => {
      const { state, code, error, error_description: description } = request.query;
      const name = state ? await states.consume(state) : undefined;
      if (!name)
        return back(reply, undefined, "This authorization expired or was already used; start it again.");
      if (error || !code)
        return back(
          reply,
          name,
          `Bitbucket did not authorize bitbridge: ${description ?? error ?? "no code"}.`,
        );
      try {
        const props = oauthProperties(await ctx.connections.get(name));
        const tokens = await exchangeCode(props, code);
        // Stored where every run of this connection looks for them, as the CLI's authorization does.
        const tokenStore = new FileTokenStore({ connection: connectionKey(props) });
        await new OAuthCredentials(props, { tokenStore }).accept(tokens);
      } catch (failure) {
        if (!(failure instanceof BitbridgeError)) throw failure;
        return back(reply, name, failure.message);
      }
      ctx.log(`Connection ${name} authorized with Bitbucket from the web UI`);
      return back(reply, name);
    },
  );
};

function oauthProperties(saved: SavedConnection): ConnectionProperties {
  const props = saved.connector === "bitbucket" ? connectionPropertiesFrom(saved.properties) : undefined;
  if (props?.authScheme !== "OAuth")
    throw new BitbridgeError(
      "OAUTH_NOT_APPLICABLE",
      `Connection ${saved.name} does not use AuthScheme=OAuth; only those are authorized in a browser.`,
    );
  return props;
}

/** Back to the connection's page in the UI, saying how it went. */
function back(reply: FastifyReply, name: string | undefined, failure?: string): FastifyReply {
  const page = name === undefined ? "/connections" : `/connections/${encodeURIComponent(name)}`;
  const query = new URLSearchParams(
    failure === undefined ? { oauth: "ok" } : { oauth: "error", message: failure },
  );
  return reply.redirect(`${page}?${query.toString()}`, 302);
}
