// The site's raw events, newest first, paged from the listEvents facade.
import { usePaginatedQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";

export function RecentEvents({ siteId, eventName }: { siteId: string; eventName?: string }) {
  const { results, status, loadMore } = usePaginatedQuery(
    api.analytics.listEvents,
    { siteId, ...(eventName ? { eventName } : {}) },
    { initialNumItems: 50 },
  );
  return (
    <div>
      <ul>
        {results.map((event) => (
          <li key={`${event.receivedAt}-${event.id}`}>
            {new Date(event.occurredAt).toISOString()} {event.name ?? event.type} {event.url}
          </li>
        ))}
      </ul>
      {/* A filtered page can be short and still not the last: keep offering more. */}
      {status === "CanLoadMore" && <button onClick={() => loadMore(50)}>Load more</button>}
    </div>
  );
}
