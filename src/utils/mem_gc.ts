/**
 * Gradient checkpointing for one call (TorchDEQ's mem_gc): the forward pass runs without
 * recording a graph, and the backward pass recomputes it with a graph, takes the
 * vector-Jacobian product with respect to the inputs and parameters, and frees the recomputed
 * graph. Memory for the activations of `func` is held only during its own backward step, so a
 * chain of checkpointed steps (unrolled solver steps, phantom gradients) keeps O(1) activations.
 */
import { Tensor, fmtShape, peekNextTensorId } from '../tensor.js';
import { checkKeys, enableGrad, grad, isGradEnabled } from '../autograd/engine.js';
import { customFunction, releaseGraph } from '../autograd/custom.js';
import { Module, type AnyModule } from '../nn/module.js';

export interface MemGcOptions {
  /**
   * Parameters func reads besides its inputs (default: a Module's `parameters()`, none for a
   * plain function). Gradients reach them through the recomputation.
   */
  params?: Tensor[];
}

type Fn = (...xs: Tensor[]) => Tensor;

/**
 * `func(...inArgs)` whose activations are recomputed in backward instead of stored.
 * Gradients equal plain backpropagation through `func`; double backward works too.
 * @example const z1 = memGc(cell, [z0, x]); // cell: a Module; no activations kept for it
 */
export function memGc(func: AnyModule | Fn, inArgs: Tensor[] = [], opts: MemGcOptions = {}): Tensor {
  checkKeys('memGc', opts, ['params']);
  const isModule = func instanceof Module;
  if (!isModule && typeof func !== 'function') {
    throw new Error(`memGc: expected func to be a Module or a function, received ${func === null ? 'null' : typeof func}`);
  }
  if (!Array.isArray(inArgs)) throw new Error(`memGc: expected inArgs to be an array of tensors, received ${typeof inArgs}`);
  inArgs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`memGc: expected inArgs[${i}] to be a Tensor, received ${t === null ? 'null' : typeof t}`);
  });
  const call: Fn = isModule ? (...xs) => (func as AnyModule).forward(...xs) : (func as Fn);
  const given = opts.params ?? (isModule ? (func as AnyModule).parameters() : []);
  if (!Array.isArray(given) || given.some((p) => !(p instanceof Tensor))) {
    throw new Error('memGc: expected option \'params\' to be an array of tensors');
  }
  const params = given.filter((p) => p.requiresGrad && !inArgs.includes(p));
  const n = inArgs.length;
  const fn = customFunction<Tensor[]>({
    name: 'memGc',
    forward: (ctx, ...all) => {
      ctx.save(...all.slice(0, n));
      const y = call(...all.slice(0, n));
      if (!(y instanceof Tensor)) throw new Error(`memGc: expected func to return a Tensor, received ${y === null ? 'null' : typeof y}`);
      return y;
    },
    backward: async (ctx, g) => {
      const createGraph = isGradEnabled();
      // For double backward the recomputation must hang off the real inputs (the node's saved
      // handles keep their graph identity); otherwise detached copies keep it self-contained.
      const keys = inArgs.filter((t) => t.requiresGrad).map((t) => t.node ?? t.target);
      const connected = createGraph && new Set(keys).size === keys.length;
      const xs = connected ? [...ctx.saved] : ctx.saved.map((s, i) => {
        const d = s.detach();
        d.requiresGrad = inArgs[i].requiresGrad;
        return d;
      });
      const release = (): void => { if (!connected) for (const x of xs) x.dispose(); };
      const firstEpoch = peekNextTensorId();
      const y = enableGrad(() => call(...xs));
      if (!y.requiresGrad) {
        release();
        return [...inArgs.map(() => null), ...params.map(() => null)];
      }
      if (y.shape.length !== g.shape.length || y.shape.some((d, i) => d !== g.shape[i])) {
        release();
        throw new Error(`memGc: the recomputed output has shape ${fmtShape(y.shape)} but the forward output had ${fmtShape(g.shape)}`);
      }
      const wrt = [...xs.filter((x) => x.requiresGrad), ...params];
      const gs = await grad(y, wrt, { gradOutputs: g, retainGraph: true, createGraph, allowUnused: true });
      if (!createGraph) releaseGraph(y.node, firstEpoch);
      let k = 0;
      const out = [...xs.map((x) => (x.requiresGrad ? gs[k++] : null)), ...params.map(() => gs[k++])];
      y.dispose();
      release();
      return out;
    },
  });
  return fn(...inArgs, ...params);
}
