// Exports the last 30 days of raw events as CSV, and links the file once it is ready.
import { useState } from "react";
import { useMutation, useQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";

export function ExportButton({ siteId }: { siteId: string }) {
  const startExport = useMutation(api.analytics.startExport);
  const [exportId, setExportId] = useState<string | null>(null);
  const progress = useQuery(api.analytics.getExport, exportId ? { siteId, exportId } : "skip");
  const start = async () => {
    const to = Date.now();
    const { exportId } = await startExport({
      siteId,
      kind: "events",
      from: to - 30 * 86_400_000,
      to,
    });
    setExportId(exportId);
  };
  if (!progress) return <button onClick={() => void start()}>Export events (CSV)</button>;
  if (progress.error) return <p>Export failed: {progress.error}</p>;
  if (progress.url) return <a href={progress.url}>Download {progress.rowsWritten} events</a>;
  return <p>Exporting… {progress.rowsWritten} rows so far</p>;
}
