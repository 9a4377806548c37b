import { v } from "convex/values";
import { internalMutation } from "./_generated/server.js";
import { components } from "./_generated/api.js";

/**
 * Provisions the "default" site once: `npx convex run setup:provision`.
 * Prints the write key, which is shown only this once.
 */
export const provision = internalMutation({
  args: { allowedOrigins: v.optional(v.array(v.string())), timezone: v.optional(v.string()) },
  returns: v.union(v.object({ siteId: v.string(), writeKey: v.string() }), v.null()),
  handler: async (ctx, args) => {
    const existing = await ctx.runQuery(components.analytics.sites.getSiteBySlug, { slug: "default" });
    if (existing) return null;
    return await ctx.runMutation(components.analytics.sites.createSite, {
      slug: "default",
      name: "Example site",
      timezone: args.timezone ?? "UTC",
      allowedOrigins: args.allowedOrigins ?? [],
    });
  },
});
