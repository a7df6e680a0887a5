import type { RouteModule } from "../app.js";
import { connectionRoutes } from "./connections.js";
import { jobRoutes } from "./jobs.js";
import { oauthRoutes } from "./oauth.js";
import { odataRoutes } from "./odata.js";
import { replicateRoutes } from "./replicate.js";
import { runRoutes } from "./runs.js";
import { sessionRoutes } from "./session.js";
import { tokenRoutes } from "./tokens.js";

/** Every route module of the API, in registration order (authentication first: it guards the rest). */
export const API_ROUTES: readonly RouteModule[] = [
  sessionRoutes,
  tokenRoutes,
  connectionRoutes,
  oauthRoutes,
  odataRoutes,
  jobRoutes,
  replicateRoutes,
  runRoutes,
];
