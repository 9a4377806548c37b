// Server-side tracking (the Analytics class): events recorded from the host's own mutations.
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import type { IngestResult } from "../shared.js";
import type { ComponentApi } from "../component/_generated/component.js";

type Props = Record<string, string | number | boolean>;

/**
 * Server-side tracking from the host's own mutations: the event is recorded if
 * and only if the host's transaction commits. `Events` types event names and props.
 *
 * @example
 * ```ts
 * const analytics = new Analytics<{ signup: { plan: string } }>(components.analytics);
 * export const signup = mutation({
 *   handler: async (ctx, { plan }) => {
 *     const userId = await ctx.db.insert("users", { plan });
 *     await analytics.track(ctx, { site: "default", name: "signup", props: { plan }, userId });
 *   },
 * });
 * ```
 */
export class Analytics<Events extends Record<string, Props> = Record<string, Props>> {
  constructor(private readonly component: ComponentApi) {}

  /**
   * Records one event. `site` is a site's slug or id; `visitorId` defaults to
   * `user:<userId>`. Never throws for a bad event or an unknown site (that would
   * roll back the host's mutation): the result's `rejected` says why instead.
   */
  async track<Name extends keyof Events & string>(
    ctx: Pick<GenericMutationCtx<GenericDataModel>, "runMutation">,
    event: {
      site: string;
      name: Name;
      props?: Events[Name];
      userId?: string;
      visitorId?: string;
      url?: string;
      id?: string;
    },
  ): Promise<IngestResult> {
    const visitorId = event.visitorId ?? (event.userId ? `user:${event.userId}` : undefined);
    // Refused, not thrown: the host's own write must never be rolled back by analytics.
    if (!visitorId)
      return {
        accepted: 0,
        duplicate: false,
        rejected: [{ index: 0, reason: "track needs a visitorId or a userId" }],
      };
    return await ctx.runMutation(this.component.ingest.trackServer, {
      site: event.site,
      event: {
        id: event.id ?? crypto.randomUUID(),
        type: "track",
        name: event.name,
        occurredAt: Date.now(),
        url: event.url ?? "https://server.invalid/",
        visitorId,
        ...(event.userId ? { userId: event.userId } : {}),
        ...(event.props ? { props: event.props } : {}),
      },
    });
  }
}
