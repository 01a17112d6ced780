/**
 * The demo's DEQ classifier: a linear injection of the image into an implicit layer
 * z* = tanh(W z* + U x + b) (with a layer norm on the pre-activation), solved by a registered
 * solver with implicit (IFT) or phantom gradients, and a linear read-out of z*.
 */
import type { Tensor } from '../tensor.js';
import { zeros } from '../creation.js';
import { tanh } from '../ops/unary.js';
import { add } from '../ops/arith.js';
import { linear } from '../ops/linalg.js';
import { layerNorm } from '../ops/norm.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { getDeq } from '../deq/registry.js';
import type { DEQBase, DEQForwardOptions, DEQResult } from '../deq/core.js';
import { noGrad } from '../autograd/engine.js';

export interface MnistDEQOptions {
  /** Width of the implicit state (default 256). */
  hidden?: number;
  /** Forward solver (default 'anderson'). */
  solver?: string;
  /** 'ift' (implicit gradient) or 'phantom' (`phantomSteps` damped unrolled steps). Default 'ift'. */
  grad?: 'ift' | 'phantom';
  /** Unrolled steps of the phantom gradient (default 5). */
  phantomSteps?: number;
  /** Forward iterations in training (default 12; eval uses 1.5x). */
  fMaxIter?: number;
  /** Seed of the parameter initialisation (default 0). */
  seed?: number;
}

/** x (B, 784) -> logits (B, 10) through one implicit layer. */
export class MnistDEQ extends Module<[Tensor], Promise<{ logits: Tensor; info: DEQResult<Tensor>['info'] }>> {
  readonly hidden: number;
  deq: DEQBase;
  private readonly inj: Linear;
  private readonly cell: Linear;
  private readonly head: Linear;

  constructor(opts: MnistDEQOptions = {}) {
    super();
    const hidden = this.hidden = opts.hidden ?? 256;
    const seed = opts.seed ?? 0;
    this.inj = this.registerModule('inj', new Linear(784, hidden, { seed }));
    this.cell = this.registerModule('cell', new Linear(hidden, hidden, { bias: false, seed: seed + 1 }));
    this.head = this.registerModule('head', new Linear(hidden, 10, { seed: seed + 2 }));
    // Start contractive: scale the recurrent weight down (torch's default init has norm ~1.15).
    noGrad(() => {
      const w = this.cell.weight;
      w.backend.axpby(0.5, w.storage, 0, w.storage, w.storage);
    });
    this.deq = this.makeDeq(opts);
  }

  /** The implicit layer's solver and gradient (the weights are kept); see `MnistDEQOptions`. */
  setSolver(opts: Pick<MnistDEQOptions, 'solver' | 'grad' | 'phantomSteps' | 'fMaxIter'>): void {
    const training = this.deq.training;
    this.deq = this.makeDeq(opts);
    this.deq.train(training);
  }

  private makeDeq(opts: Pick<MnistDEQOptions, 'solver' | 'grad' | 'phantomSteps' | 'fMaxIter'>): DEQBase {
    const fMaxIter = opts.fMaxIter ?? 12;
    const phantom = opts.grad === 'phantom';
    return getDeq({
      fSolver: opts.solver ?? 'anderson', fMaxIter, fTol: 1e-3, fStopMode: 'rel',
      evalFactor: 1.5,
      ift: !phantom, bSolver: 'fixed_point_iter', bMaxIter: fMaxIter, bTol: 1e-3, bStopMode: 'rel',
      // A budget of fMaxIter adjoint steps is deliberate (TorchDEQ's recipe): the inexact
      // backward solve is expected, so the per-step warning is off.
      bFailure: 'ignore',
      grad: phantom ? opts.phantomSteps ?? 5 : 1, tau: phantom ? 0.6 : 1,
    });
  }

  override train(mode = true): this {
    super.train(mode);
    this.deq?.train(mode);
    return this;
  }

  /** `backwardWriter` receives the stats of each IFT backward solve (see DEQForwardOptions). */
  async forward(x: Tensor, opts: Pick<DEQForwardOptions, 'backwardWriter'> = {}): Promise<{ logits: Tensor; info: DEQResult<Tensor>['info'] }> {
    const u = this.inj.forward(x);
    const W = this.cell.weight;
    const f = (z: Tensor): Tensor => tanh(layerNorm(add(linear(z, W), u), [this.hidden]));
    const { zOut, info } = await this.deq.forward(f, zeros([x.shape[0], this.hidden], { dtype: x.dtype, backend: x.backend }), opts);
    return { logits: this.head.forward(zOut[zOut.length - 1]), info };
  }
}
