// Cron schedules, from `crons.export()`: convex-test never runs crons by itself,
// so the engine asks nextRun() when each job is due. Supports every schedule
// convex/server's Crons builds: interval, hourly, daily, weekly, monthly and
// cron expressions (UTC).

export type CronSchedule =
  | { type: "interval"; seconds?: number; minutes?: number; hours?: number }
  | { type: "hourly"; minuteUTC: number }
  | { type: "daily"; hourUTC: number; minuteUTC: number }
  | { type: "weekly"; dayOfWeek: string; hourUTC: number; minuteUTC: number }
  | { type: "monthly"; day: number; hourUTC: number; minuteUTC: number }
  | { type: "cron"; cron: string };

export type CronJob = {
  id: string;
  componentPath: string;
  udfPath: string;
  args: unknown;
  schedule: CronSchedule;
};

const MINUTE = 60_000;
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/** Parses one field of a cron expression ("*", "5", "1-5", "*\/15", "1,2,10-20/5") into the set of values it allows. */
function cronField(field: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad cron field "${field}"`);
    const lo = m[1] === "*" ? min : Number(m[2]);
    const hi =
      m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < min || hi > max || lo > hi || step < 1)
      throw new Error(`cron field "${field}" is out of range ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** A matcher for one minute, from a 5-field UTC cron expression (minute hour day-of-month month day-of-week). */
export function cronMatcher(expr: string): (at: Date) => boolean {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron expression "${expr}" must have 5 fields`);
  const [mi, ho, dom, mon, dow] = fields as [string, string, string, string, string];
  const minutes = cronField(mi, 0, 59);
  const hours = cronField(ho, 0, 23);
  const days = cronField(dom, 1, 31);
  const months = cronField(mon, 1, 12);
  const weekdays = new Set([...cronField(dow, 0, 7)].map((d) => d % 7));
  const domAny = dom.trim() === "*";
  const dowAny = dow.trim() === "*";
  return (at) => {
    if (
      !minutes.has(at.getUTCMinutes()) ||
      !hours.has(at.getUTCHours()) ||
      !months.has(at.getUTCMonth() + 1)
    )
      return false;
    const d = days.has(at.getUTCDate());
    const w = weekdays.has(at.getUTCDay());
    // Classic cron: when both day fields are restricted, either may match.
    return domAny || dowAny ? d && w : d || w;
  };
}

function asCron(s: CronSchedule): string {
  switch (s.type) {
    case "hourly":
      return `${s.minuteUTC} * * * *`;
    case "daily":
      return `${s.minuteUTC} ${s.hourUTC} * * *`;
    case "weekly":
      return `${s.minuteUTC} ${s.hourUTC} * * ${DAYS.indexOf(s.dayOfWeek)}`;
    case "monthly":
      return `${s.minuteUTC} ${s.hourUTC} ${s.day} * *`;
    case "cron":
      return s.cron;
    case "interval":
      throw new Error("not a calendar schedule");
  }
}

/** When a job next runs after `now` (epoch ms). Interval jobs run every interval from `now`. */
export function nextRun(schedule: CronSchedule, now: number): number {
  if (schedule.type === "interval") {
    const ms =
      ((schedule.seconds ?? 0) + (schedule.minutes ?? 0) * 60 + (schedule.hours ?? 0) * 3600) *
      1000;
    if (!(ms > 0)) throw new Error("interval must be positive");
    return now + ms;
  }
  const matches = cronMatcher(asCron(schedule));
  let t = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  // At most ~4 years of minutes: covers "29 2 *" (Feb 29) and every other expression.
  for (let i = 0; i < 4 * 366 * 1440; i++, t += MINUTE) if (matches(new Date(t))) return t;
  throw new Error(`cron schedule ${JSON.stringify(schedule)} never runs`);
}

/** The jobs of a module's default export (a Crons object), with the component they belong to. */
export function jobsOf(crons: { export(): string }, componentPath: string): CronJob[] {
  const exported = JSON.parse(crons.export()) as Record<
    string,
    { name: string; args: unknown[]; schedule: CronSchedule }
  >;
  return Object.entries(exported).map(([id, job]) => ({
    id,
    componentPath,
    udfPath: job.name,
    args: job.args[0] ?? {},
    schedule: job.schedule,
  }));
}
