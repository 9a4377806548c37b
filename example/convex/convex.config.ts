import { defineApp } from "convex/server";
import analytics from "convex-event-analytics/convex.config.js";

const app = defineApp();
app.use(analytics);

export default app;
