import { useId, useState, type FormEvent } from "react";
import { RANGE_LABELS, RANGE_PRESETS, type CustomRange, type RangePreset } from "./range.js";

export type RangePickerProps = {
  value: RangePreset;
  onChange: (preset: RangePreset) => void;
  custom?: CustomRange;
  onCustomChange?: (custom: CustomRange) => void;
  /** Shown under the picker, e.g. why a custom range was refused. */
  error?: string;
  /** "YYYY-MM-DD" in the site's timezone: the latest date the custom range may end on. */
  today?: string;
};

/** Today, Last 24 hours, 7, 30 and 90 days, 12 months, or custom dates (in the site's timezone). */
export function RangePicker({
  value,
  onChange,
  custom,
  onCustomChange,
  error,
  today,
}: RangePickerProps) {
  const id = useId();
  const [start, setStart] = useState(custom?.start ?? "");
  const [end, setEnd] = useState(custom?.end ?? today ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onCustomChange?.({ start, end });
  };
  return (
    <div className="cea-range">
      <label htmlFor={`${id}-preset`} className="cea-visually-hidden">
        Date range
      </label>
      <select
        id={`${id}-preset`}
        className="cea-select"
        value={value}
        onChange={(e) => onChange(e.target.value as RangePreset)}
        data-testid="cea-range"
      >
        {RANGE_PRESETS.filter((p) => p !== "custom" || onCustomChange).map((p) => (
          <option key={p} value={p}>
            {RANGE_LABELS[p]}
          </option>
        ))}
      </select>
      {value === "custom" && onCustomChange && (
        <form className="cea-custom" onSubmit={submit}>
          <label>
            <span className="cea-visually-hidden">From</span>
            <input
              type="date"
              className="cea-input"
              value={start}
              max={today}
              onChange={(e) => setStart(e.target.value)}
              required
              aria-label="From"
            />
          </label>
          <span aria-hidden="true">–</span>
          <label>
            <span className="cea-visually-hidden">To</span>
            <input
              type="date"
              className="cea-input"
              value={end}
              max={today}
              onChange={(e) => setEnd(e.target.value)}
              required
              aria-label="To"
            />
          </label>
          <button type="submit" className="cea-button">
            Apply
          </button>
        </form>
      )}
      {error && value === "custom" && (
        <span className="cea-range-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
