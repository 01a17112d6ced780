/**
 * Fixed-point correction (Bai et al., "Deep Equilibrium Optical Flow Estimation", 2022): apply
 * the task loss to every state of a sequence converging to the fixed point and sum the losses
 * with weights from a named weight function (a registry: `exp`, `linear`, `const`, plus
 * whatever `registerWeightFunc` adds).
 */
import { Tensor, fmtShape } from '../tensor.js';
import { checkKeys } from '../autograd/engine.js';
import { mul } from '../ops/arith.js';
import { addInto } from './running_sum.js';
import { show } from '../utils/format.js';

/** Extra numeric parameters of a weight function (e.g. `{ gamma: 0.9 }`). */
export type WeightArgs = Readonly<Record<string, number>>;

/**
 * Maps (n, k) to the weight of the k-th of n states (k = 0 is the earliest, k = n - 1 the
 * state closest to the fixed point).
 */
export type WeightFunc = (n: number, k: number, args: WeightArgs) => number;

function argsOf(name: string, args: WeightArgs, defaults: Record<string, number>): Record<string, number> {
  checkKeys(`fpCorrection (weightFunc '${name}' weightArgs)`, args, Object.keys(defaults));
  for (const [k, v] of Object.entries(args)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`fpCorrection: expected weightArgs.${k} to be a finite number, received ${show(v)}`);
    }
  }
  return { ...defaults, ...args };
}

/** gamma^(n - k - 1): the last state weighs 1, earlier ones decay geometrically (gamma 0.8). */
const expWeight: WeightFunc = (n, k, args) => {
  const { gamma } = argsOf('exp', args, { gamma: 0.8 });
  return gamma ** (n - k - 1);
};

/** 1 - (n - k - 1) / n * gamma + bias: linear ramp up to 1 + bias at the last state (gamma 0.9, bias 0). */
const linearWeight: WeightFunc = (n, k, args) => {
  const { gamma, bias } = argsOf('linear', args, { gamma: 0.9, bias: 0 });
  return 1 - ((n - k - 1) / n) * gamma + bias;
};

/** c for every state (c 1). */
const constWeight: WeightFunc = (_n, _k, args) => argsOf('const', args, { c: 1 }).c;

const weightFuncs = new Map<string, WeightFunc>([
  ['exp', expWeight],
  ['linear', linearWeight],
  ['const', constWeight],
]);

/**
 * Registers a weight function under `name` for `fpCorrection` (replacing any of that name).
 * @example registerWeightFunc('last', (n, k) => (k === n - 1 ? 1 : 0));
 */
export function registerWeightFunc(name: string, fn: WeightFunc): void {
  if (typeof name !== 'string' || name === '') {
    throw new Error(`registerWeightFunc: expected a non-empty string name, received ${show(name)}`);
  }
  if (typeof fn !== 'function') {
    throw new Error(`registerWeightFunc: expected a function (n, k, args) => number for '${name}', received ${typeof fn}`);
  }
  weightFuncs.set(name, fn);
}

/**
 * The weight function registered under `name`.
 * @example getWeightFunc('exp')(3, 0, {}) // 0.64
 */
export function getWeightFunc(name: string): WeightFunc {
  const fn = weightFuncs.get(name);
  if (!fn) {
    throw new Error(`fpCorrection: unknown weightFunc '${name}'; registered weight functions are ${[...weightFuncs.keys()].map((k) => `'${k}'`).join(', ')}`);
  }
  return fn;
}

/** Names of the registered weight functions. @example listWeightFuncs() // ['exp', 'linear', 'const'] */
export function listWeightFuncs(): string[] {
  return [...weightFuncs.keys()];
}

export interface FpCorrectionOptions {
  /** Name of a registered weight function (default 'exp'). */
  weightFunc?: string;
  /** Also return every state's loss value as a number (makes the call async). */
  returnLossValues?: boolean;
  /** Parameters for the weight function: exp {gamma}, linear {gamma, bias}, const {c}. */
  weightArgs?: WeightArgs;
}

/** A criterion argument: one value for every state, or a list cycled through by state index. */
export type CorrectionArg = unknown;

/**
 * The weights `fpCorrection` would use for `n` states.
 * @example correctionWeights(3, 'exp') // [0.64, 0.8, 1]
 */
export function correctionWeights(n: number, weightFunc = 'exp', weightArgs: WeightArgs = {}): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`correctionWeights: expected a positive integer n, received ${show(n)}`);
  const fn = getWeightFunc(weightFunc);
  return Array.from({ length: n }, (_, k) => {
    const w = fn(n, k, weightArgs);
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      throw new Error(`fpCorrection: expected weightFunc '${weightFunc}' to return a finite number for (n=${n}, k=${k}), received ${show(w)}`);
    }
    return w;
  });
}

/**
 * Weighted sum over states of `crit(...args at state i)`. Each entry of `args` is either an
 * array (state i uses element `i % length`, so shorter lists cycle, as in TorchDEQ) or a
 * single value used for every state. The number of states is the longest array.
 * Returns the loss tensor, or with `returnLossValues` a promise of `{ loss, lossValues }`.
 * @example
 * const loss = fpCorrection((x, y) => x.sub(y).square().mean(), [trajectory, target]);
 */
export function fpCorrection(crit: (...args: any[]) => Tensor, args: readonly CorrectionArg[],
  opts?: FpCorrectionOptions & { returnLossValues?: false }): Tensor;
export function fpCorrection(crit: (...args: any[]) => Tensor, args: readonly CorrectionArg[],
  opts: FpCorrectionOptions & { returnLossValues: true }): Promise<{ loss: Tensor; lossValues: number[] }>;
export function fpCorrection(crit: (...args: any[]) => Tensor, args: readonly CorrectionArg[],
  opts: FpCorrectionOptions = {}): Tensor | Promise<{ loss: Tensor; lossValues: number[] }> {
  checkKeys('fpCorrection', opts, ['weightFunc', 'returnLossValues', 'weightArgs']);
  if (typeof crit !== 'function') throw new Error(`fpCorrection: expected crit to be a function, received ${typeof crit}`);
  if (!Array.isArray(args)) throw new Error(`fpCorrection: expected args to be an array of criterion arguments, received ${typeof args}`);
  const lists = args.map((a) => (Array.isArray(a) ? a : [a]));
  const empty = lists.findIndex((l) => l.length === 0);
  if (empty >= 0) throw new Error(`fpCorrection: expected args[${empty}] to be a non-empty list, received an empty array`);
  const n = lists.reduce((m, l) => Math.max(m, l.length), 0);
  if (n === 0) throw new Error('fpCorrection: expected at least one criterion argument, received none');
  const weights = correctionWeights(n, opts.weightFunc ?? 'exp', opts.weightArgs ?? {});
  const losses: Tensor[] = [];
  let total: Tensor | null = null;
  for (let i = 0; i < n; i++) {
    const li = crit(...lists.map((l) => l[i % l.length]));
    if (!(li instanceof Tensor)) {
      throw new Error(`fpCorrection: expected crit to return a Tensor for state ${i}, received ${li === null ? 'null' : typeof li}`);
    }
    if (opts.returnLossValues && li.size !== 1) {
      throw new Error(`fpCorrection: expected crit to return a scalar with returnLossValues, received shape ${fmtShape(li.shape)} for state ${i}`);
    }
    const term = mul(li, weights[i]);
    total = addInto(total, term);
    if (opts.returnLossValues) losses.push(li);
  }
  if (!opts.returnLossValues) return total!;
  const loss = total!;
  return Promise.all(losses.map((l) => l.data())).then((ds) => ({ loss, lossValues: ds.map((d) => d[0]) }));
}
