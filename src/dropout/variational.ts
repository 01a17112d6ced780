/**
 * Variational dropout for implicit models (TorchDEQ's torchdeq.dropout): the mask is drawn on
 * the first forward call and then reused by every call (every solver iteration) until
 * `resetDropout(model)` clears it, so the fixed-point map stays the same function during a
 * solve. Masks are inverted-dropout masks (kept entries scaled by 1 / (1 - p)); in eval mode
 * the layers are the identity. Channel variants drop whole feature channels, token variants
 * whole tokens (positions).
 */
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { keep } from '../scope.js';
import { Rng, rngFor } from '../random.js';
import { checkKeys } from '../autograd/engine.js';
import { mul } from '../ops/arith.js';
import { reshape } from '../ops/shape.js';
import { need } from '../ops/util.js';
import { Module, type AnyModule } from '../nn/module.js';
import { dropMaskFrom } from '../utils/sampling.js';
import { show } from '../utils/format.js';

export interface VariationalDropoutOptions {
  /** Seed of this layer's own generator (each reset draws the next mask from it). */
  seed?: number;
  /** A generator to draw masks from (shared with other layers). Not together with `seed`. */
  generator?: Rng;
}

export interface VariationalDropoutNdOptions extends VariationalDropoutOptions {
  /** Layout: features last, (B, ..., D) (default true, as TorchDEQ's code), or first after the batch, (B, D, ...). */
  tokenFirst?: boolean;
}

/**
 * Base of the variational dropout layers: holds p, the generator and the current mask.
 * Subclasses only say which shape the mask has for an input.
 * @example if (layer instanceof VariationalDropoutBase) layer.resetMask();
 */
export abstract class VariationalDropoutBase extends Module {
  /** Probability of dropping an entry (a channel, a token). */
  readonly p: number;
  readonly #rng: Rng | null;
  #mask: Tensor | null = null;

  constructor(p: number, opts: VariationalDropoutOptions, extraKeys: string[] = []) {
    super();
    const where = new.target.name;
    checkKeys(where, opts, ['seed', 'generator', ...extraKeys]);
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`${where}: expected a drop probability p in [0, 1], received ${show(p)}`);
    }
    if (opts.seed !== undefined && opts.generator !== undefined) {
      throw new Error(`${where}: expected at most one of the options 'seed' and 'generator', received both`);
    }
    if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed))) {
      throw new Error(`${where}: expected option 'seed' to be a finite number, received ${show(opts.seed)}`);
    }
    if (opts.generator !== undefined && !(opts.generator instanceof Rng)) {
      throw new Error(`${where}: expected option 'generator' to be an Rng, received ${typeof opts.generator}`);
    }
    this.p = p;
    this.#rng = opts.generator ?? (opts.seed !== undefined ? new Rng(opts.seed) : null);
  }

  /** The mask shape for input `x` (its size-1 axes broadcast over x). */
  protected abstract maskShape(x: Tensor): number[];

  /** The current mask (null until the first training-mode forward after a reset). */
  get mask(): Tensor | null {
    return this.#mask;
  }

  /** Forgets the mask; the next training-mode forward draws a new one. */
  resetMask(): void {
    this.#mask?.dispose();
    this.#mask = null;
  }

  /** x times the fixed mask in training mode (p > 0); x unchanged otherwise. */
  forward(x: Tensor): Tensor {
    const X = need(this.typeName, 'x', x);
    if (!this.training || this.p === 0) return reshape(X, X.shape);
    const shape = this.maskShape(X);
    if (!this.#mask) {
      this.#mask = keep(dropMaskFrom(this.#rng ?? rngFor(undefined), shape, this.p, X));
    }
    const m = this.#mask;
    if (m.dtype !== X.dtype || m.backend !== X.backend || m.shape.length !== shape.length || m.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${this.typeName}: the fixed mask (shape ${fmtShape(m.shape)}, ${m.dtype}, ${m.backend.name}) does not fit the input (shape ${fmtShape(X.shape)}, ${X.dtype}, ${X.backend.name}); call resetDropout(model) when the input changes`);
    }
    return mul(X, m);
  }

  /** Also frees the mask. */
  override dispose(): void {
    this.resetMask();
    super.dispose();
  }
}

function checkRank(where: string, x: Tensor, rank: number, layout: string): void {
  if (x.rank !== rank) {
    throw new Error(`${where}: expected an input of rank ${rank} ${layout}, received shape ${fmtShape(x.shape)}`);
  }
}

/** Layout names for error messages: spatial axis names per dimensionality. */
const SPATIAL = ['L', 'H, W', 'T, H, W'];

/** Shared code of the 1d/2d/3d layers: rank check and layout. */
abstract class VariationalNd extends VariationalDropoutBase {
  /** Whether inputs are (B, ..., D) (true) or (B, D, ...) (false). */
  readonly tokenFirst: boolean;
  readonly #nd: number;

  constructor(nd: number, p: number, opts: VariationalDropoutNdOptions) {
    super(p, opts, ['tokenFirst']);
    const tf = opts.tokenFirst ?? true;
    if (typeof tf !== 'boolean') throw new Error(`${this.typeName}: expected option 'tokenFirst' to be a boolean, received ${show(tf)}`);
    this.tokenFirst = tf;
    this.#nd = nd;
  }

  /** The input checked to have rank nd + 2. */
  protected checked(x: Tensor): void {
    const sp = SPATIAL[this.#nd - 1];
    checkRank(this.typeName, x, this.#nd + 2, this.tokenFirst ? `(B, ${sp}, D)` : `(B, D, ${sp})`);
  }
}

/** Channel-wise: one mask entry per (batch, feature), shared by all positions. */
abstract class ChannelDropout extends VariationalNd {
  protected maskShape(x: Tensor): number[] {
    this.checked(x);
    const B = x.shape[0], ones = x.shape.slice(2).map(() => 1);
    return this.tokenFirst ? [B, ...ones, x.shape[x.rank - 1]] : [B, x.shape[1], ...ones];
  }
}

/** Token-wise: one mask entry per (batch, position), shared by all features. */
abstract class TokenDropout extends VariationalNd {
  protected maskShape(x: Tensor): number[] {
    this.checked(x);
    return this.tokenFirst ? [...x.shape.slice(0, -1), 1] : [x.shape[0], 1, ...x.shape.slice(2)];
  }
}

/**
 * Elementwise variational dropout: a mask of the input's full shape, fixed until reset.
 * @example
 * const drop = new VariationalDropout(0.1, { seed: 0 });
 * const f = (z: Tensor) => drop.forward(layer.forward(z)); // same mask every solver iteration
 * resetDropout(model); // before the next training step
 */
export class VariationalDropout extends VariationalDropoutBase {
  constructor(p = 0.5, opts: VariationalDropoutOptions = {}) {
    super(p, opts);
  }
  protected maskShape(x: Tensor): number[] {
    return [...x.shape];
  }
}

/** Drops feature channels of (B, L, D) inputs ((B, D, L) with tokenFirst false). @example new VariationalDropout1d(0.2) */
export class VariationalDropout1d extends ChannelDropout {
  constructor(p = 0.5, opts: VariationalDropoutNdOptions = {}) { super(1, p, opts); }
}

/** Drops feature channels of (B, H, W, D) inputs ((B, D, H, W) with tokenFirst false). @example new VariationalDropout2d(0.2, { tokenFirst: false }) */
export class VariationalDropout2d extends ChannelDropout {
  constructor(p = 0.5, opts: VariationalDropoutNdOptions = {}) { super(2, p, opts); }
}

/** Drops feature channels of (B, T, H, W, D) inputs ((B, D, T, H, W) with tokenFirst false). @example new VariationalDropout3d(0.2) */
export class VariationalDropout3d extends ChannelDropout {
  constructor(p = 0.5, opts: VariationalDropoutNdOptions = {}) { super(3, p, opts); }
}

/** Drops whole tokens of (B, L, D) inputs ((B, D, L) with tokenFirst false). @example new VariationalDropToken1d(0.1) */
export class VariationalDropToken1d extends TokenDropout {
  constructor(p = 0.5, opts: VariationalDropoutNdOptions = {}) { super(1, p, opts); }
}

/** Drops whole pixels of (B, H, W, D) inputs ((B, D, H, W) with tokenFirst false). @example new VariationalDropToken2d(0.1) */
export class VariationalDropToken2d extends TokenDropout {
  constructor(p = 0.5, opts: VariationalDropoutNdOptions = {}) { super(2, p, opts); }
}

/** Drops whole voxels of (B, T, H, W, D) inputs ((B, D, T, H, W) with tokenFirst false). @example new VariationalDropToken3d(0.1) */
export class VariationalDropToken3d extends TokenDropout {
  constructor(p = 0.5, opts: VariationalDropoutNdOptions = {}) { super(3, p, opts); }
}

/**
 * Clears the mask of every variational dropout layer in `model` (TorchDEQ's reset_dropout);
 * call it at the start of each training step.
 * @example resetDropout(model)
 */
export function resetDropout(model: AnyModule): void {
  if (!(model instanceof Module)) throw new Error(`resetDropout: expected a Module, received ${model === null ? 'null' : typeof model}`);
  for (const m of model.modules()) if (m instanceof VariationalDropoutBase) m.resetMask();
}
