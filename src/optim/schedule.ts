/**
 * Learning-rate schedules as functions of the step. `cosineAnnealing` follows
 * torch.optim.lr_scheduler.CosineAnnealingLR's closed form
 *   lr(t) = etaMin + (baseLr - etaMin) * (1 + cos(pi * t / tMax)) / 2
 * (past tMax it keeps following the cosine back up, as torch does), optionally preceded by a
 * linear warmup with torch LinearLR's rule, as SequentialLR([LinearLR, CosineAnnealingLR])
 * would chain them: lr(t) = baseLr * (f + (1 - f) * t / warmupSteps) for t < warmupSteps,
 * then the cosine at t - warmupSteps.
 */
import { checkKeys } from '../autograd/engine.js';
import type { Optimizer } from './optimizer.js';
import { show } from '../utils/format.js';

export interface CosineAnnealingOptions {
  /** The learning rate at step 0 of the cosine (after warmup). */
  baseLr: number;
  /** Steps of the half cosine period (torch's T_max). */
  tMax: number;
  /** Minimum learning rate (default 0). */
  etaMin?: number;
  /** Linear warmup steps before the cosine starts (default 0). */
  warmupSteps?: number;
  /** Warmup starts at baseLr * warmupStartFactor (default 1/3, torch LinearLR's start_factor). */
  warmupStartFactor?: number;
}

const KEYS = ['baseLr', 'tMax', 'etaMin', 'warmupSteps', 'warmupStartFactor'];

function num(where: string, name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new Error(`${where}: expected '${name}' to be ${what}, received ${show(v)}`);
  }
  return v;
}

/**
 * Returns lr(step) for cosine annealing with optional linear warmup.
 * @example
 * const lrAt = cosineAnnealing({ baseLr: 1e-3, tMax: 1000, warmupSteps: 100 });
 * opt.setLr(lrAt(step));
 */
export function cosineAnnealing(opts: CosineAnnealingOptions): (step: number) => number {
  const where = 'cosineAnnealing';
  if (opts === null || typeof opts !== 'object') throw new Error(`${where}: expected an options object, received ${opts === null ? 'null' : typeof opts}`);
  checkKeys(where, opts, KEYS);
  const base = num(where, 'baseLr', opts.baseLr, (x) => x >= 0, 'a number >= 0');
  const tMax = num(where, 'tMax', opts.tMax, (x) => Number.isInteger(x) && x > 0, 'an integer > 0');
  const etaMin = num(where, 'etaMin', opts.etaMin ?? 0, (x) => x >= 0, 'a number >= 0');
  const warm = num(where, 'warmupSteps', opts.warmupSteps ?? 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const f = num(where, 'warmupStartFactor', opts.warmupStartFactor ?? 1 / 3, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  return (step: number): number => {
    num('cosineAnnealing (step)', 'step', step, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    if (step < warm) return base * (f + ((1 - f) * step) / warm);
    const t = step - warm;
    return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
  };
}

/**
 * torch-style scheduler object: remembers each group's starting lr as its base and sets
 * lr(t) on every group at each `step()` (call it after `optimizer.step()`).
 * @example
 * const sched = new CosineAnnealingLR(opt, { tMax: 100 });
 * for (...) { ...; opt.step(); sched.step(); }
 */
export class CosineAnnealingLR {
  readonly #opt: Optimizer<{ lr: number }>;
  readonly #schedules: ((t: number) => number)[];
  #t = 0;

  constructor(optimizer: Optimizer<{ lr: number }>, opts: Omit<CosineAnnealingOptions, 'baseLr'>) {
    if (opts !== null && typeof opts === 'object' && 'baseLr' in opts) {
      throw new Error("CosineAnnealingLR: unknown option 'baseLr' (the base is each group's current lr); valid options are 'tMax', 'etaMin', 'warmupSteps', 'warmupStartFactor'");
    }
    this.#opt = optimizer;
    this.#schedules = optimizer.paramGroups.map((g) => cosineAnnealing({ ...opts, baseLr: g.lr }));
    this.#apply();
  }

  /** Steps taken so far (torch's last_epoch). */
  get lastStep(): number {
    return this.#t;
  }

  /** The current lr of each group. @example sched.getLastLr() */
  getLastLr(): number[] {
    return this.#opt.paramGroups.map((g) => g.lr);
  }

  /** Advances one step and updates the groups' lr. @example sched.step() */
  step(): void {
    this.#t++;
    this.#apply();
  }

  #apply(): void {
    this.#opt.paramGroups.forEach((g, i) => { g.lr = this.#schedules[i](this.#t); });
  }
}
