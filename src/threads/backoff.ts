/**
 * When to stop splitting jobs across threads for a while: after a run of jobs in which the
 * calling thread waited for the workers longer than it worked itself. That happens when other
 * processes hold the cores (a worker is not running while it holds a part), and then one
 * thread is faster than two; after a pause the pool tries again.
 */

/** Tuning of the back-off (times in ms). */
export interface BackoffOptions {
  /** A job is slow when the caller waited longer than this share of its own working time. */
  slowWait: number;
  /** Slow jobs in a row that start a pause. */
  slowJobs: number;
  /** Length of the pause. */
  pauseMs: number;
}

export const BACKOFF_DEFAULTS: Readonly<BackoffOptions> = Object.freeze({ slowWait: 0.5, slowJobs: 4, pauseMs: 200 });

/**
 * The back-off state of one pool.
 * @example
 * const b = new Backoff();
 * b.observe(1, 5, performance.now()); // caller worked 1 ms, waited 5 ms
 * if (b.paused(performance.now())) runOnOneThread();
 */
export class Backoff {
  /** False: never pause (tests that count pooled jobs). */
  enabled = true;
  private slow = 0;
  private until = 0;

  constructor(private readonly o: Readonly<BackoffOptions> = BACKOFF_DEFAULTS) {}

  /** Records a job: the caller worked `busy` ms on its parts, then waited `wait` ms for the others. */
  observe(busy: number, wait: number, now: number): void {
    if (!this.enabled || wait <= this.o.slowWait * busy) {
      this.slow = 0;
      return;
    }
    if (++this.slow >= this.o.slowJobs) {
      this.slow = 0;
      this.until = now + this.o.pauseMs;
    }
  }

  /** Whether jobs should run on one thread at time `now`. */
  paused(now: number): boolean {
    return this.enabled && now < this.until;
  }
}
