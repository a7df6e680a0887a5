import type { RouteModule } from "../app.js";

/** Every route module of the API, in registration order (authentication first: it guards the rest). */
export const API_ROUTES: readonly RouteModule[] = [];
