import { httpRouter } from "convex/server";
import { registerRoutes } from "convex-event-analytics";
import { components } from "./_generated/api.js";

const http = httpRouter();
// POST /analytics/ingest (+ OPTIONS for CORS preflight), GET /analytics/script.js,
// GET /analytics/api/v1/{overview,timeseries,breakdown,realtime} (read keys) and
// GET /analytics/health
registerRoutes(http, components.analytics, {
  pathPrefix: "/analytics",
  // Browsers on this origin may call the stats API too; without it, server-to-server only.
  statsApiAllowedOrigins: ["https://status.example.com"],
});
export default http;
