// The engine's clock. Ingest clamps occurredAt to [receivedAt - 7 days,
// receivedAt + 5 min], so 30 days of honest history can only be written by
// receiving each batch at the moment it was sent. For that the seeder starts the
// engine's clock in the past and moves it forward batch by batch, then hands it
// back to real time: every function (ingest, worker, crons, rate limits, retention)
// sees the time it would have seen live. The clock never goes backwards and
// never runs ahead of real time, so creation times stay monotonic.

export const realNow = Date.now.bind(Date);

export class Clock {
  private offset: number;
  private last = 0;

  /** `startAt`: where the clock starts (default: now); it must not be in the future. */
  constructor(startAt?: number) {
    this.offset = startAt === undefined ? 0 : Math.min(0, startAt - realNow());
  }

  /** Replaces Date.now for the whole process (the engine's functions read it). */
  install(): this {
    Date.now = () => {
      // Monotonic even when the offset moves while a request is in flight.
      this.last = Math.max(this.last, realNow() + this.offset);
      return this.last;
    };
    return this;
  }

  /** Moves the clock forward to `at` (never backwards, never past real time). */
  advance(at: number): void {
    this.offset = Math.min(0, Math.max(at, Date.now()) - realNow());
  }

  /** Back to real time. */
  reset(): void {
    this.offset = 0;
  }

  get isReal(): boolean {
    return this.offset === 0;
  }
}
