import { httpRouter } from "convex/server";
import { registerRoutes } from "convex-event-analytics";
import { components } from "./_generated/api.js";

const http = httpRouter();
// POST /analytics/ingest (+ OPTIONS for CORS preflight)
registerRoutes(http, components.analytics, { pathPrefix: "/analytics" });
export default http;
