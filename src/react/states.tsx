// Loading, error and empty states, and a boundary that keeps a panel's failure to that panel.
import { Component, type ReactNode } from "react";
import { formatNumber } from "./format.js";
import type { FilterProgress } from "./hooks.js";

/** Grey blocks in the shape of what is loading; announced to screen readers as busy. */
export function Skeleton({ rows = 3, height }: { rows?: number; height?: number }) {
  return (
    <div
      className="cea-skeleton"
      aria-busy="true"
      aria-label="Loading"
      role="status"
      style={height ? { height } : undefined}
    >
      {Array.from({ length: rows }, (_, i) => (
        <span key={i} className="cea-skeleton-line" style={{ width: `${90 - ((i * 17) % 40)}%` }} />
      ))}
    </div>
  );
}

/** The server's error text, as it came (an auth refusal reads as the host wrote it). */
export function ErrorNotice({ error, what }: { error: Error; what: string }) {
  return (
    <div className="cea-error" role="alert">
      <strong>Could not load {what}.</strong>
      <span className="cea-error-text">{error.message}</span>
    </div>
  );
}

/** Catches a render error in one part of the dashboard and shows it there. */
export class PanelBoundary extends Component<
  { what: string; children: ReactNode },
  { error: Error | undefined }
> {
  override state: { error: Error | undefined } = { error: undefined };
  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
  override render() {
    return this.state.error ? (
      <ErrorNotice error={this.state.error} what={this.props.what} />
    ) : (
      this.props.children
    );
  }
}

/** What a site with no data in the range shows: how to install the tracker, with the site's script tag. */
export function EmptyState({ scriptSrc, writeKey }: { scriptSrc: string; writeKey?: string }) {
  const tag = `<script defer src="${scriptSrc}" data-key="${writeKey ?? "pk_YOUR_WRITE_KEY"}"></script>`;
  return (
    <div className="cea-empty" data-testid="cea-empty">
      <h3>No visitors in this range</h3>
      <p>
        If the site is new, add this tag to the <code>&lt;head&gt;</code> of every page. Events
        appear here within seconds, without a reload.
      </p>
      <pre className="cea-code">
        <code>{tag}</code>
      </pre>
      {!writeKey && (
        <p className="cea-muted">
          The write key is the one <code>createSite</code> (or <code>rotateWriteKey</code>)
          returned; it is shown only once.
        </p>
      )}
    </div>
  );
}

/**
 * A filtered report's progress: "Partial — N events scanned" while its raw-event
 * scan has not covered the range, the scan's error if it stopped, nothing once
 * complete (or unfiltered).
 */
export function FilterNotice({
  progress,
  scanError,
  canScan,
  locale,
}: {
  progress: FilterProgress | undefined;
  /** Why startFilterScan failed, if it did. */
  scanError?: Error;
  /** Whether the host exports startFilterScan (without it a partial report stays partial). */
  canScan: boolean;
  locale?: string;
}) {
  const error = scanError?.message ?? progress?.error;
  if (error) {
    return (
      <div className="cea-notice cea-notice-error" role="alert" data-testid="cea-filter-error">
        The filter scan stopped: {error}
      </div>
    );
  }
  if (progress?.complete !== false) return null;
  return (
    <p className="cea-notice" role="status" data-testid="cea-partial">
      Partial — {formatNumber(progress.scannedEvents ?? 0, locale)} events scanned
      {canScan ? ", counting…" : " (export startFilterScan to count them all)"}
    </p>
  );
}
