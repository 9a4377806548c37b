// What a host app imports (the package's "." entry). Nothing in the component is
// callable from a browser: hosts re-export the facades below, which run the host's
// auth callback first.
import type { ComponentApi } from "../component/_generated/component.js";

export { registerRoutes, type RouteOptions } from "./http.js";
export type { ComponentApi };
export * from "../shared.js";
export type { AnalyticsOperation, AuthCallback } from "./auth.js";
export { exposeAnalyticsApi } from "./analyticsApi.js";
export { exposeAdminApi } from "./adminApi.js";
export { exposeMaintenanceApi, registerMaintenanceCrons } from "./maintenance.js";
export { Analytics } from "./serverTracking.js";
