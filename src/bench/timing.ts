/**
 * Timing: warm up, then time several runs of a batch of calls sized to last at least `minMs`,
 * and report the median time per call.
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

export const DEFAULT_TIMING: TimingOptions = { warmup: 3, runs: 7, minMs: 60 };

/**
 * Median milliseconds per call of `fn`.
 * @example const ms = timeCall(() => work(), { ...DEFAULT_TIMING, runs: 5 })
 */
export function timeCall(fn: () => void, opts: TimingOptions = DEFAULT_TIMING): number {
  for (let i = 0; i < opts.warmup; i++) fn();
  // Calibrate the batch size once so that one run lasts about minMs.
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= opts.minMs || reps >= 1 << 20) break;
    reps = dt <= 0 ? reps * 8 : Math.min(reps * 8, Math.ceil((reps * opts.minMs * 1.2) / dt));
  }
  const times: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    times.push((performance.now() - t0) / reps);
  }
  return median(times);
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
