// Filter routing and validation, as pure functions (filterMath.ts): which
// filters a rollup row answers exactly, and the canonical form scans are cached by.
import { describe, expect, test } from "vitest";
import type { Filter } from "../shared.js";
import { ROLLUP_FILTER_DIMENSIONS, canonicalFilters, routeFilters } from "./filterMath.js";

describe("filter routing", () => {
  test("routing: one `is` on a session dimension, entryPage, page, hostname or event reads its rollup row; the rest scan", () => {
    const is = (dimension: Filter["dimension"], value = "x"): Filter => ({
      dimension,
      op: "is",
      value,
    });
    expect(routeFilters("overview", [])).toEqual({ via: "none" });
    for (const d of ROLLUP_FILTER_DIMENSIONS)
      for (const report of ["overview", "timeseries"] as const)
        expect(routeFilters(report, [is(d)])).toEqual({ via: "rollup", dimension: d, key: "x" });
    expect(routeFilters("overview", [is("exitPage")])).toEqual({ via: "scan" });
    expect(routeFilters("breakdown", [is("country")])).toEqual({ via: "scan" });
    expect(routeFilters("overview", [{ dimension: "country", op: "isNot", value: "x" }])).toEqual({
      via: "scan",
    });
    expect(routeFilters("overview", [{ dimension: "page", op: "contains", value: "x" }])).toEqual({
      via: "scan",
    });
    expect(routeFilters("timeseries", [is("country"), is("page")])).toEqual({ via: "scan" });
    // Canonical: duplicates dropped and sorted, so equal filter sets share one scan.
    expect(canonicalFilters([is("page", "/b"), is("country", "US"), is("page", "/b")])).toEqual([
      is("country", "US"),
      is("page", "/b"),
    ]);
    expect(() =>
      canonicalFilters(Array.from({ length: 11 }, (_, i) => is("page", `/${i}`))),
    ).toThrow("At most 10 filters");
    expect(() => canonicalFilters([is("page", "")])).toThrow("1 to 300 characters");
    expect(() => canonicalFilters([is("page", "x".repeat(301))])).toThrow("1 to 300 characters");
    expect(() => canonicalFilters([is("prop" as Filter["dimension"])])).toThrow(
      "dimension is one of",
    );
  });
});
