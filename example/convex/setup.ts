import { v } from "convex/values";
import { internalMutation } from "./_generated/server.js";
import { components } from "./_generated/api.js";

/**
 * Creates the "default" site and records its owner, once. Internal, so it runs
 * from the CLI, where nobody is signed in (analytics.ts's createSite needs an admin):
 *
 *   npx convex run setup:provision '{"ownerEmail": "you@example.com", "allowedOrigins": ["https://example.com"]}'
 *
 * Prints the site id and its write key (pk_...), which is shown only this once;
 * returns null if the site exists already.
 */
export const provision = internalMutation({
  args: {
    ownerEmail: v.optional(v.string()),
    allowedOrigins: v.optional(v.array(v.string())),
    timezone: v.optional(v.string()),
  },
  returns: v.union(v.object({ siteId: v.string(), writeKey: v.string() }), v.null()),
  handler: async (ctx, args) => {
    const existing = await ctx.runQuery(components.analytics.sites.getSiteBySlug, {
      slug: "default",
    });
    if (existing) return null;
    const site = await ctx.runMutation(components.analytics.sites.createSite, {
      slug: "default",
      name: "Example site",
      timezone: args.timezone ?? "UTC",
      allowedOrigins: args.allowedOrigins ?? [],
    });
    if (args.ownerEmail)
      await ctx.db.insert("siteOwners", { email: args.ownerEmail, siteId: site.siteId });
    return site;
  },
});
