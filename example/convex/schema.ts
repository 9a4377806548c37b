import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ email: v.string(), plan: v.string() }),
  // Who may read a site's analytics (see analytics.ts); written by setup:provision.
  siteOwners: defineTable({ email: v.string(), siteId: v.string() }).index("by_email", ["email"]),
});
