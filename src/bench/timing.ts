/**
 * Timing: warm up, then time several runs of a batch of calls sized to last at least `minMs`,
 * and report the median time per call. Several functions compared with each other are timed
 * interleaved (run r of every function, then run r + 1 ...), so a burst of load from other
 * processes hits all of them alike instead of skewing one.
 */

/** How to time one measurement. */
export interface TimingOptions {
  /** Untimed calls first (lets the engine tier up and caches fill). */
  warmup: number;
  /** Timed runs; the median is reported. */
  runs: number;
  /** Each run repeats the call until it has lasted at least this long. */
  minMs: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmup: 3, runs: 9, minMs: 60 };

/** Calls per run so that one run of `fn` lasts about `minMs`. */
function calibrate(fn: () => void, minMs: number): number {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= minMs || reps >= 1 << 20) return reps;
    reps = dt <= 0 ? reps * 8 : Math.min(reps * 8, Math.ceil((reps * minMs * 1.2) / dt));
  }
}

/**
 * Median milliseconds per call of each function, timed interleaved.
 * @example const [msA, msB] = timeCalls([() => a(), () => b()])
 */
export function timeCalls(fns: readonly (() => void)[], opts: TimingOptions = DEFAULT_TIMING): number[] {
  for (const fn of fns) for (let i = 0; i < opts.warmup; i++) fn();
  const reps = fns.map((fn) => calibrate(fn, opts.minMs));
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < opts.runs; r++) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      for (let j = 0; j < reps[i]; j++) fn();
      times[i].push((performance.now() - t0) / reps[i]);
    });
  }
  return times.map(median);
}

/**
 * Median milliseconds per call of `fn`.
 * @example const ms = timeCall(() => work(), { ...DEFAULT_TIMING, runs: 5 })
 */
export function timeCall(fn: () => void, opts: TimingOptions = DEFAULT_TIMING): number {
  return timeCalls([fn], opts)[0];
}

/**
 * Median of a non-empty list.
 * @example median([3, 1, 2]) // 2
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: expected a non-empty list, received []');
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
