/**
 * Typed access to the TorchDEQ oracle cases in test/fixtures/oracle (a copy of the shared
 * oracle; its README documents the schema and the semantics). Arrays stay nested JS numbers;
 * `asTensor` turns one into a tsdeq tensor.
 * @example
 * const c = loadCase('tanh8_fpi_abs');
 * const x = asTensor(c.x, { dtype: 'float64' });
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, type Tensor, type Backend } from '../../src/index.js';
import type { DType } from '../../src/dtype.js';

export const ORACLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'oracle');

export type Mat = number[][];
export type NestedNumbers = number | NestedNumbers[];
export type CellType = 'tanh_linear' | 'mlp2' | 'residual_relu' | 'gated' | 'layernorm_tanh';
export type StopMode = 'abs' | 'rel';
/** TorchDEQ's solver function names as stored in `deq_config.resolved`. */
export type TorchDEQSolverName = 'anderson_solver' | 'broyden_solver' | 'fixed_point_iter' | 'simple_fixed_point_iter';

export interface SolverInfo {
  abs_lowest: number[];
  rel_lowest: number[];
  nstep: number[];
  abs_trace: Mat;
  rel_trace: Mat;
  sradius: number[];
}

export interface ShortInfo {
  abs_lowest: number[];
  rel_lowest: number[];
  nstep: number[];
  trace_len: number;
}

export interface Counts { f_calls_nograd: number; f_calls_grad: number; vjp_calls: number; }

export interface ForwardEval {
  z: Mat;
  info: SolverInfo;
  sradius_power_method: number[];
  counts: Counts;
  max_abs_err_vs_reference_z: number;
  roundoff_limited: boolean[];
}

export interface DeqConfig {
  get_deq_kwargs: Record<string, unknown>;
  solver_kwargs: Record<string, number | boolean>;
  resolved: {
    f_max_iter: number; b_max_iter: number; f_tol: number; b_tol: number;
    f_stop_mode: StopMode; b_stop_mode: StopMode; eval_f_max_iter: number; no_stat: boolean;
    f_solver: TorchDEQSolverName; b_solver: TorchDEQSolverName;
  };
}

export interface PhantomRef {
  grad: number; tau: number; sup_gap: number; sup_loc: number[] | null;
  outputs: Mat[]; loss: number; grads: Record<string, NestedNumbers>;
}

export interface Reference {
  z_star: Mat;
  residual_abs: number[];
  newton_iters: number;
  jacobian_spectral_radius: number[];
  jacobian_spectral_norm: number[];
  loss: number;
  adjoint_g: Mat;
  ift_grads: Record<string, NestedNumbers>;
  fd_check: Record<string, unknown>;
  phantom: Record<string, PhantomRef>;
}

export interface Run {
  name: string;
  get_deq_kwargs: Record<string, unknown>;
  sampling_indexing?: number[];
  n_outputs?: number;
  outputs?: Mat[];
  loss_weights?: number[];
  loss?: number;
  grads?: Record<string, NestedNumbers>;
  info_train?: ShortInfo;
  backward_solver_info?: ShortInfo[];
  counts_forward?: Counts;
  counts_backward?: Counts;
  reference?: string | null;
  max_rel_diff_vs_reference?: Record<string, number>;
  error?: string;
  error_phase?: string;
}

export interface Cell {
  type: CellType;
  formula: string;
  dims: { B: number; d: number; p: number; hidden?: number };
  constants: Record<string, number>;
  param_order: string[];
  param_shapes: Record<string, number[]>;
  generation: Record<string, unknown>;
}

export interface OracleCase {
  schema_version: number;
  case_id: string;
  note: string;
  dtype: 'float64';
  cell: Cell;
  params: Record<string, NestedNumbers>;
  x: Mat;
  z_init: Mat;
  loss: { c: Mat; definition: string };
  deq_config: DeqConfig;
  forward_eval: ForwardEval;
  reference: Reference;
  runs: Run[];
  meta: Record<string, unknown>;
}

/** Every case id (file names without `.json`, index.json excluded), sorted. */
export function listCases(): string[] {
  return readdirSync(ORACLE_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .map((f) => f.slice(0, -5))
    .sort();
}

const cache = new Map<string, OracleCase>();

/** Parses one case (cached). Throws naming the id and the known ids if it does not exist. */
export function loadCase(id: string): OracleCase {
  const hit = cache.get(id);
  if (hit) return hit;
  const known = listCases();
  if (!known.includes(id)) {
    throw new Error(`loadCase: unknown oracle case '${id}'; known cases are ${known.join(', ')}`);
  }
  const c = JSON.parse(readFileSync(join(ORACLE_DIR, `${id}.json`), 'utf8')) as OracleCase;
  cache.set(id, c);
  return c;
}

export function cellType(c: OracleCase): CellType {
  return c.cell.type;
}

export interface AsTensorOptions { dtype?: DType; requiresGrad?: boolean; /** Default: the current backend. */ backend?: Backend; }

/** A nested JSON array as a tensor (float64 unless asked otherwise). */
export function asTensor(v: NestedNumbers, opts: AsTensorOptions = {}): Tensor {
  return tensor(v as number[], undefined, {
    dtype: opts.dtype ?? 'float64', requiresGrad: opts.requiresGrad ?? false, ...(opts.backend ? { backend: opts.backend } : {}),
  });
}

/** The case's parameters as tensors, in `cell.param_order`. */
export function params(c: OracleCase, opts: AsTensorOptions = {}): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const name of c.cell.param_order) out[name] = asTensor(c.params[name], opts);
  return out;
}

export function x(c: OracleCase, opts: AsTensorOptions = {}): Tensor {
  return asTensor(c.x, opts);
}

export function zInit(c: OracleCase, opts: AsTensorOptions = {}): Tensor {
  return asTensor(c.z_init, opts);
}

export function forwardEval(c: OracleCase): ForwardEval {
  return c.forward_eval;
}

export function runs(c: OracleCase): Run[] {
  return c.runs;
}

export function findRun(c: OracleCase, name: string): Run {
  const r = c.runs.find((q) => q.name === name);
  if (!r) throw new Error(`findRun: case '${c.case_id}' has no run '${name}'; it has ${c.runs.map((q) => q.name).join(', ')}`);
  return r;
}

export function reference(c: OracleCase): Reference {
  return c.reference;
}

/** tsdeq solver name for TorchDEQ's resolved function name (`anderson_solver` -> `anderson`). */
export function solverName(name: TorchDEQSolverName): string {
  return name.replace(/_solver$/, '');
}

/** Flattens a nested number array (row-major). */
export function flat(v: NestedNumbers): number[] {
  if (typeof v === 'number') return [v];
  const out: number[] = [];
  const rec = (a: NestedNumbers): void => {
    if (typeof a === 'number') out.push(a);
    else for (const e of a) rec(e);
  };
  rec(v);
  return out;
}
