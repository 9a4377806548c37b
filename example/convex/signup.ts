import { v } from "convex/values";
import { Analytics } from "convex-event-analytics";
import { mutation } from "./_generated/server.js";
import { components } from "./_generated/api.js";

// Typed server-side events: recorded if and only if the mutation commits.
const analytics = new Analytics<{ signup: { plan: string } }>(components.analytics);

export const signup = mutation({
  args: { email: v.string(), plan: v.string() },
  returns: v.id("users"),
  handler: async (ctx, { email, plan }) => {
    const userId = await ctx.db.insert("users", { email, plan });
    await analytics.track(ctx, { site: "default", name: "signup", props: { plan }, userId });
    return userId;
  },
});
