/**
 * Reverse-mode differentiation: grad mode, recording op nodes, and the async backward pass
 * behind `tensor.backward()` and `grad()`. Backward is async because a node's backward may
 * run a solver (IFT) and, on WebGPU, read data back.
 */
import { Tensor, fmtShape, peekNextTensorId } from '../tensor.js';
import { keep, tidyCall } from '../scope.js';
import { Node, edgeOf, type BackwardFn, type Edge } from './node.js';
import { beginPass, endPass, type PendingPass } from './pending.js';
import { add } from '../ops/arith.js';
import { ones } from '../creation.js';
import { need } from '../ops/util.js';

/*
 * Grad mode is never held by the library across an `await`: concurrent async calls (two DEQ
 * forwards, a forward during a backward) would otherwise see each other's mode. Internal work
 * sets it with `withMode` around synchronous sections only, from a mode captured per call.
 * `sectionMode` is the mode of the synchronous section running now (null: none); `regions`
 * are the async functions passed to the public `noGrad`/`enableGrad` that have not settled
 * yet, in the order they began (they may settle in any order; the mode never sticks).
 */
let sectionMode: boolean | null = null;
const regions: { mode: boolean }[] = [];

/**
 * Whether ops currently record a graph (false inside `noGrad`).
 * @example noGrad(() => isGradEnabled()) // false
 */
export function isGradEnabled(): boolean {
  if (sectionMode !== null) return sectionMode;
  return regions.length > 0 ? regions[regions.length - 1].mode : true;
}

/**
 * Internal: runs `fn` with grad mode `mode` for its synchronous part only. When `fn` returns
 * a promise, the previous mode is back as soon as it returns: what `fn` does after its first
 * `await` runs in whatever mode is current then. Library code uses this (never a mode held
 * across an await), with a mode captured when the public call began.
 */
export function withMode<T>(mode: boolean, fn: () => T): T {
  const prev = sectionMode;
  sectionMode = mode;
  try {
    return fn();
  } finally {
    sectionMode = prev;
  }
}

/** The public noGrad/enableGrad: the mode holds for a returned promise until it settles. */
function withGradMode<T>(mode: boolean, fn: () => T): T {
  if (typeof fn !== 'function') {
    throw new Error(`${mode ? 'enableGrad' : 'noGrad'}: expected fn to be a function, received ${fn === null ? 'null' : typeof fn}`);
  }
  const r = withMode(mode, fn);
  if (!isPromiseLike(r)) return r;
  const region = { mode };
  regions.push(region);
  const end = (): void => {
    const i = regions.lastIndexOf(region);
    if (i >= 0) regions.splice(i, 1);
  };
  return Promise.resolve(r).then((v) => { end(); return v; }, (e: unknown) => { end(); throw e; }) as T;
}

/** Whether `v` is a promise or another thenable (an async function's result). */
export function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v instanceof Promise || (v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function');
}

/**
 * Runs `fn` without recording a graph (like `torch.no_grad`).
 * @example const y = noGrad(() => f(z));
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/**
 * Runs `fn` with graph recording on, even inside `noGrad`.
 * @example noGrad(() => enableGrad(() => x.mul(w))) // records the product
 */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/**
 * Internal: whether an op on these inputs records a graph node (grad mode on and some input
 * requires grad). Hot ops check it before building their `record` arguments.
 */
export function needsGraph(a: Tensor, b?: Tensor | null, c?: Tensor | null): boolean {
  return isGradEnabled() && (a.requiresGrad || (!!b && b.requiresGrad) || (!!c && c.requiresGrad));
}

/**
 * Internal: attaches a graph node to `out` when grad mode is on and an input requires grad.
 * `saved` are the tensors `fn` needs; the node holds its own handles on them.
 */
export function record(name: string, out: Tensor, inputs: readonly Tensor[], saved: readonly Tensor[],
  fn: BackwardFn): Tensor {
  if (!isGradEnabled()) return out;
  let any = false;
  for (const t of inputs) if (t.requiresGrad) { any = true; break; }
  if (!any) return out;
  new Node(name, inputs, saved, fn, out);
  return out;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward computation so the gradients can be differentiated again. */
  createGraph?: boolean;
}

type Key = Node | Tensor;

/** Post-order (inputs before consumers) of the nodes reachable from `roots`, iteratively. */
function topoOrder(roots: Node[], minEpoch = 0): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  // An explicit DFS stack: the node and the index of its next parent to visit.
  const nodes: Node[] = [];
  const next: number[] = [];
  for (const r of roots) {
    if (seen.has(r)) continue;
    seen.add(r);
    nodes.push(r);
    next.push(0);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const n = nodes[top];
      const ps = n.parents();
      const i = next[top];
      if (i >= ps.length) {
        nodes.pop();
        next.pop();
        order.push(n);
        continue;
      }
      next[top] = i + 1;
      const p = ps[i];
      if (!seen.has(p) && p.epoch >= minEpoch) {
        seen.add(p);
        nodes.push(p);
        next.push(0);
      }
    }
  }
  return order;
}

/**
 * Runs the backward pass from `roots` seeded with `seeds` (owned by the engine) and returns
 * the accumulated gradient for each key in `wanted` (a node's output, or a leaf tensor).
 * With `wanted` undefined every leaf that requires grad is wanted.
 */
function run(roots: Tensor[], seeds: Tensor[], wanted: Set<Key> | undefined,
  opts: { retainGraph: boolean; createGraph: boolean }, plan?: Plan): Map<Key, Tensor> | Promise<Map<Key, Tensor>> {
  const acc = new Map<Key, Tensor>();
  const p = plan ?? makePlan(roots, wanted);
  const failed = (e: unknown): never => {
    // A failed backward leaves no gradient storage behind, and (unless the graph is retained)
    // releases the rest of the graph too: the part already run is gone, so it cannot be rerun.
    for (const g of seeds) g.dispose();
    for (const g of acc.values()) g.dispose();
    if (!opts.retainGraph) for (const n of p.order) n.release();
    throw e;
  };
  let done: void | Promise<void>;
  try {
    done = propagate(acc, p, seeds, opts);
  } catch (e) {
    return failed(e);
  }
  // Synchronous unless a VJP returned a promise (then the rest of the pass continues after it).
  return done instanceof Promise ? done.then(() => acc, failed) : acc;
}

/**
 * What a backward pass visits, computed from the graph alone (so a pullback that runs the
 * same pass many times computes it once): the roots' keys, the nodes in reverse topological
 * order whose gradient reaches something wanted, and for each the inputs whose gradient is
 * wanted. Nodes not listed are only released (when the graph is not retained).
 */
interface Plan {
  rootKeys: Key[];
  rootNodes: Node[];
  /** Every node reachable from the roots (down to the oldest wanted key), inputs before consumers. */
  order: Node[];
  needed: Set<Node>;
  wanted: Set<Key> | undefined;
}

function makePlan(roots: Tensor[], wanted: Set<Key> | undefined): Plan {
  const rootKeys: Key[] = [];
  const rootNodes: Node[] = [];
  for (const r of roots) {
    rootKeys.push(r.node ?? r.target);
    if (r.node) rootNodes.push(r.node);
  }
  // Nodes older than everything wanted cannot reach it: do not walk into them.
  let minEpoch = 0;
  if (wanted) {
    minEpoch = Infinity;
    for (const k of wanted) minEpoch = Math.min(minEpoch, k instanceof Node ? k.epoch : k.id + 1);
  }
  const order = topoOrder(rootNodes, minEpoch);
  // needed(n): n's gradient can reach something wanted.
  const needed = new Set<Node>();
  for (const n of order) {
    let need = wanted ? wanted.has(n) : false;
    for (const e of n.edges) {
      if (!e) continue;
      if (e instanceof Node) { if (needed.has(e) || wanted?.has(e)) need = true; }
      else if (!wanted || wanted.has(e)) need = true;
    }
    if (need) needed.add(n);
  }
  return { rootKeys, rootNodes, order, needed, wanted };
}

function propagate(acc: Map<Key, Tensor>, plan: Plan, seeds: Tensor[],
  opts: { retainGraph: boolean; createGraph: boolean }): void | Promise<void> {
  const accumulate = (k: Key, g: Tensor): void => {
    const old = acc.get(k);
    if (!old) { acc.set(k, g); return; }
    if (!opts.createGraph && old.storage.refs === 1 && !old.requiresGrad && old.dtype === g.dtype
      && old.backend === g.backend && old.size === g.size) {
      // The engine holds the only handle on this partial sum: add in place (no new buffer).
      old.backend.axpby(1, old.storage, 1, g.storage, old.storage);
      g.dispose();
      return;
    }
    const sum = withMode(opts.createGraph, () => add(old, g));
    old.dispose();
    g.dispose();
    acc.set(k, sum);
  };
  const { order, needed, wanted } = plan;
  for (let i = 0; i < seeds.length; i++) accumulate(plan.rootKeys[i], seeds[i]);
  const wants = (e: Edge): boolean => !!e && (e instanceof Node ? needed.has(e) || !!wanted?.has(e) : !wanted || wanted.has(e));
  /** Hands node `node`'s input gradients on (and frees its own gradient when it is not wanted). */
  const deliver = (node: Node, g: Tensor, needs: boolean[], firstNew: number, results: unknown): void => {
    checkResults(node, results);
    const edges = node.edges;
    const owned: Tensor[] = [];
    for (let j = 0; j < edges.length; j++) {
      const e = edges[j];
      let r = results[j];
      if (!e || !r || !needs[j]) continue;
      const want = node.inputShapes[j];
      if (r.shape.length !== want.length || r.shape.some((s, t) => s !== want[t])) {
        throw new Error(`backward: the backward of '${node.name}' returned a gradient of shape ${fmtShape(r.shape)} for input ${j}, expected ${fmtShape(want)}`);
      }
      if (r.dtype !== node.inputDTypes[j]) {
        throw new Error(`backward: the backward of '${node.name}' returned a gradient of dtype ${r.dtype} for input ${j}, expected ${node.inputDTypes[j]}`);
      }
      // The engine owns (and later disposes) only tensors created by this backward call.
      if (r.id < firstNew || owned.includes(r) || r === g) r = r.alias();
      owned.push(r);
      accumulate(e, r);
    }
    // Gradients nobody receives (inputs without an edge, extra results) are freed here.
    for (let j = 0; j < results.length; j++) {
      const r = results[j];
      if (r && r.id >= firstNew && !owned.includes(r) && r !== g && (!edges[j] || !needs[j])) r.dispose();
    }
    if (!wanted?.has(node)) {
      acc.delete(node);
      g.dispose();
    }
    if (!opts.retainGraph) node.release();
  };
  // The nodes from `from` down, synchronously until a VJP returns a promise.
  const walk = (from: number): void | Promise<void> => {
    for (let i = from; i >= 0; i--) {
      const node = order[i];
      const g = acc.get(node);
      if (!needed.has(node) || !g) {
        if (!opts.retainGraph) node.release();
        continue;
      }
      const firstNew = peekNextTensorId();
      const edges = node.edges;
      const needs = new Array<boolean>(edges.length);
      for (let j = 0; j < edges.length; j++) needs[j] = wants(edges[j]);
      // A scope frees the temporaries a VJP makes; grad mode and the scope cover its
      // synchronous part only (see withMode, tidyCall), so concurrent work never sees them.
      const results: unknown = tidyCall(() => withMode(opts.createGraph, () => node.apply(g, needs)));
      if (results instanceof Promise) {
        return results.then((r: unknown) => {
          deliver(node, g, needs, firstNew, settleAsync(r, firstNew, opts.createGraph));
          return walk(i - 1);
        });
      }
      deliver(node, g, needs, firstNew, results);
    }
  };
  return walk(order.length - 1);
}

/**
 * The results of an async VJP: what it computed after its first await ran in the grad mode
 * current then, so without `createGraph` a gradient may carry a graph it should not; such a
 * gradient is replaced by a plain handle and the graph recorded for it is released.
 */
function settleAsync(results: unknown, firstNew: number, createGraph: boolean): unknown {
  if (createGraph || !Array.isArray(results)) return results;
  const done = new Map<Tensor, Tensor>();
  return results.map((r: unknown) => {
    if (!(r instanceof Tensor)) return r;
    const seen = done.get(r);
    if (seen) return seen;
    if (r.isDisposed || r.node === null || r.id < firstNew) return r;
    const plain = r.detach();
    releaseFrom(r.node, firstNew);
    r.dispose();
    done.set(r, plain);
    return plain;
  });
}

/**
 * Releases the nodes reachable from `root` that were created at or after `minEpoch`, except
 * those reachable from the tensors in `keepFrom` (whose graphs stay usable).
 */
export function releaseFrom(root: Node | null, minEpoch: number, keepFrom: readonly Tensor[] = []): void {
  const stack = root ? [root] : [];
  const seen = new Set<Node>();
  if (keepFrom.length > 0) {
    const walk: Node[] = [];
    for (const t of keepFrom) if (t.node) walk.push(t.node);
    while (walk.length) {
      const n = walk.pop()!;
      if (seen.has(n) || n.epoch < minEpoch) continue;
      seen.add(n);
      for (const p of n.parents()) walk.push(p);
    }
  }
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n) || n.epoch < minEpoch) continue;
    seen.add(n);
    for (const p of n.parents()) stack.push(p);
    n.release();
  }
}

/** Throws unless a node's backward returned an array of Tensors / nulls. */
function checkResults(node: Node, results: unknown): asserts results is (Tensor | null | undefined)[] {
  if (!Array.isArray(results)) {
    const got = results instanceof Tensor ? 'Tensor' : results === null ? 'null' : typeof results;
    throw new Error(`backward: the backward of '${node.name}' returned ${got}, expected an array with one gradient (Tensor or null) per input (${node.edges.length})`);
  }
  for (let j = 0; j < results.length; j++) {
    const r: unknown = results[j];
    if (r === null || r === undefined) continue;
    if (!(r instanceof Tensor)) {
      throw new Error(`backward: the backward of '${node.name}' returned ${typeof r} for input ${j}, expected a Tensor or null`);
    }
    if (r.isDisposed) r.assertLive(`backward (the backward of '${node.name}', input ${j})`);
  }
}

/** Throws unless output i requires grad and `g` (when given) is a live gradient of its shape and dtype. */
function checkSeed(where: string, o: Tensor, g: Tensor | null | undefined, i: number): void {
  o.assertLive(where);
  if (!o.requiresGrad) {
    throw new Error(`${where}: expected output ${i} to require grad, received a tensor that is not part of a graph (shape ${fmtShape(o.shape)}); did you compute it inside noGrad or from tensors without requiresGrad?`);
  }
  if (!g) return;
  g.assertLive(where);
  if (g.shape.length !== o.shape.length || g.shape.some((s, t) => s !== o.shape[t])) {
    throw new Error(`${where}: expected gradient ${i} of shape ${fmtShape(o.shape)}, received ${fmtShape(g.shape)}`);
  }
  if (g.dtype !== o.dtype) {
    throw new Error(`${where}: expected gradient ${i} of dtype ${o.dtype}, received ${g.dtype}`);
  }
}

function seedsFor(where: string, outputs: Tensor[], gradOutputs: (Tensor | null | undefined)[] | undefined): Tensor[] {
  return outputs.map((o, i) => {
    const g = gradOutputs?.[i];
    checkSeed(where, o, g, i);
    if (g) return g.alias();
    if (o.size !== 1) {
      throw new Error(`${where}: expected a scalar output or an explicit gradient, received an output of shape ${fmtShape(o.shape)} and no gradient`);
    }
    return ones(o.shape, { dtype: o.dtype, backend: o.backend });
  });
}

/**
 * Accumulates d(output)/d(leaf) into `leaf.grad` for every leaf that requires grad.
 * Implementation of `Tensor.backward`.
 * @example await backward(loss); // same as await loss.backward()
 */
export function backward(output: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): Promise<void> {
  let pass: PendingPass | null = null;
  const promise = (async (): Promise<void> => {
    checkKeys('backward', opts, ['retainGraph', 'createGraph']);
    if (!(output instanceof Tensor)) need('backward', 'output', output);
    const createGraph = opts.createGraph ?? false;
    const retainGraph = opts.retainGraph ?? createGraph;
    const seeds = seedsFor('backward', [output], [gradient]);
    const plan = makePlan([output], undefined);
    pass = beginPass(leavesOf(plan, output));
    let acc: Map<Key, Tensor>;
    try {
      acc = await run([output], seeds, undefined, { retainGraph, createGraph }, plan);
    } finally {
      endPass(pass);
    }
    if (pass.cancelledBy !== null) {
      for (const g of acc.values()) g.dispose();
      throw new Error(`backward: discarded: ${pass.cancelledBy} ran while this backward pass was still running, so its gradients were dropped; await loss.backward() before stepping the optimizer`);
    }
    for (const [k, g] of acc) {
      if (k instanceof Node) { g.dispose(); continue; }
      if (k.node) { g.dispose(); continue; }
      if (k.grad) {
        const old = k.grad;
        k.grad = keep(withMode(createGraph, () => add(old, g)));
        old.dispose();
        g.dispose();
      } else {
        k.grad = keep(g);
      }
    }
  })();
  if (pass !== null) (pass as PendingPass).promise = promise;
  return promise;
}

/** The leaves whose `.grad` a full backward pass over `plan` writes. */
function leavesOf(plan: Plan, output: Tensor): Set<Tensor> {
  const leaves = new Set<Tensor>();
  if (!output.node && output.requiresGrad) leaves.add(output.target);
  for (const n of plan.order) for (const e of n.edges) if (e instanceof Tensor) leaves.add(e);
  return leaves;
}

export interface GradOptions extends BackwardOptions {
  /** Gradients of the outputs (required for non-scalar outputs). */
  gradOutputs?: (Tensor | null | undefined)[] | Tensor;
  /** Return null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` with respect to `inputs`, like `torch.autograd.grad`. Does not touch `.grad`.
 * @example const [gx] = await grad(x.mul(x).sum(), [x]); // 2x
 */
export async function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): Promise<(Tensor | null)[]> {
  checkKeys('grad', opts, ['gradOutputs', 'retainGraph', 'createGraph', 'allowUnused']);
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  outs.forEach((t, i) => { if (!(t instanceof Tensor)) need('grad', `outputs[${i}]`, t); });
  ins.forEach((t, i) => { if (!(t instanceof Tensor)) need('grad', `inputs[${i}]`, t); });
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const gos = opts.gradOutputs === undefined ? undefined : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs];
  if (gos && gos.length !== outs.length) {
    throw new Error(`grad: expected ${outs.length} gradOutputs (one per output), received ${gos.length}`);
  }
  const keys: Key[] = ins.map((t, i) => {
    t.assertLive('grad');
    if (!t.requiresGrad) throw new Error(`grad: expected input ${i} to require grad, received a tensor with requiresGrad false`);
    return edgeOf(t)!;
  });
  const seeds = seedsFor('grad', outs, gos);
  const acc = await run(outs, seeds, new Set(keys), { retainGraph, createGraph });
  return gradsOf(keys, acc, ins, opts.allowUnused ?? false);
}

/** The gradient of each key from a finished pass (null for unused ones when allowed); frees the rest. */
function gradsOf(keys: Key[], acc: Map<Key, Tensor>, ins: Tensor[], allowUnused: boolean): (Tensor | null)[] {
  const res = keys.map((k, i) => {
    const g = acc.get(k);
    if (!g) {
      if (allowUnused) return null;
      for (const t of acc.values()) t.dispose();
      throw new Error(`grad: input ${i} (shape ${fmtShape(ins[i].shape)}) was not used to compute the outputs; pass { allowUnused: true } to get null for it`);
    }
    return g;
  });
  // Duplicate inputs share one accumulated gradient: hand each its own handle.
  const seen = new Set<Tensor>();
  const out = res.map((g) => {
    if (!g) return g;
    if (seen.has(g)) return g.alias();
    seen.add(g);
    return g;
  });
  for (const [k, g] of acc) if (!keys.includes(k)) g.dispose();
  return out;
}

/**
 * Internal: `grad(outputs, inputs, { gradOutputs, retainGraph: true, allowUnused: true })` for
 * a graph that stays fixed between calls (a `vjp` pullback runs it many times): the backward
 * plan (topological order, which gradients are wanted) is computed on the first call and
 * reused. Inputs the outputs do not depend on get null.
 */
export function plannedGrad(outputs: Tensor[], inputs: Tensor[]): (gradOutputs: Tensor[], createGraph: boolean) => (Tensor | null)[] | Promise<(Tensor | null)[]> {
  const keys: Key[] = inputs.map((t, i) => {
    if (!t.requiresGrad) throw new Error(`grad: expected input ${i} to require grad, received a tensor with requiresGrad false`);
    return edgeOf(t)!;
  });
  const wanted = new Set(keys);
  let plan: Plan | null = null;
  let single: SingleNode | null | undefined;
  const general = (gradOutputs: Tensor[], createGraph: boolean, p: Plan): (Tensor | null)[] | Promise<(Tensor | null)[]> => {
    const seeds = seedsFor('grad', outputs, gradOutputs);
    const acc = run(outputs, seeds, wanted, { retainGraph: true, createGraph }, p);
    return acc instanceof Promise ? acc.then((a) => gradsOf(keys, a, inputs, true)) : gradsOf(keys, acc, inputs, true);
  };
  // Synchronous when every VJP of the pass is (no promise per call): one node without the
  // general pass's bookkeeping, else the general pass.
  return (gradOutputs, createGraph) => {
    for (const t of inputs) t.assertLive('grad');
    plan ??= makePlan(outputs, wanted);
    if (single === undefined) single = singleNode(plan, outputs, keys);
    if (single !== null && !createGraph && gradOutputs[0]) {
      checkSeed('grad', outputs[0], gradOutputs[0], 0);
      return applySingle(single, gradOutputs[0]);
    }
    return general(gradOutputs, createGraph, plan);
  };
}

/**
 * A backward pass that is one node applied to the output gradient: one output, the only node
 * that reaches a wanted input, every wanted input a distinct direct (leaf) input of it. A
 * pullback of `f(x)` for a fused op (IFT's adjoint iterations) is this case.
 */
interface SingleNode { node: Node; needs: boolean[]; slots: number[] }

function singleNode(plan: Plan, outputs: Tensor[], keys: Key[]): SingleNode | null {
  const node = outputs.length === 1 ? outputs[0].node : null;
  if (node === null || plan.needed.size !== 1 || !plan.needed.has(node)) return null;
  const slots: number[] = [];
  for (const k of keys) {
    if (k instanceof Node) return null;
    const j = node.edges.indexOf(k);
    if (j < 0 || node.edges.indexOf(k, j + 1) >= 0 || slots.includes(j)) return null;
    slots.push(j);
  }
  return { node, needs: node.edges.map((_, j) => slots.includes(j)), slots };
}

/**
 * The single-node pass: the node's VJP applied to `g` in a scope, its wanted results checked
 * and handed out (synchronously when the VJP is synchronous).
 */
function applySingle(sn: SingleNode, g: Tensor): (Tensor | null)[] | Promise<(Tensor | null)[]> {
  const { node, needs } = sn;
  const firstNew = peekNextTensorId();
  const results = tidyCall(() => withMode(false, () => node.apply(g, needs)));
  if (results instanceof Promise) return results.then((r) => handOut(sn, g, settleAsync(r, firstNew, false), firstNew));
  return handOut(sn, g, results, firstNew);
}

function handOut(sn: SingleNode, g: Tensor, results: unknown, firstNew: number): (Tensor | null)[] {
  const { node, slots } = sn;
  checkResults(node, results);
  const res = results;
  const out: (Tensor | null)[] = [];
  for (const j of slots) {
    let r = res[j] ?? null;
    if (r !== null) {
      const want = node.inputShapes[j];
      if (r.shape.length !== want.length || r.shape.some((d, t) => d !== want[t]) || r.dtype !== node.inputDTypes[j]) {
        for (let i = 0; i < res.length; i++) { const x = res[i]; if (x && x.id >= firstNew && x !== g) x.dispose(); }
        throw new Error(`backward: the backward of '${node.name}' returned a gradient of shape ${fmtShape(r.shape)} (${r.dtype}) for input ${j}, expected ${fmtShape(want)} (${node.inputDTypes[j]})`);
      }
      // Only tensors this call created are handed out as they are.
      if (r.id < firstNew || r === g || out.includes(r)) r = r.alias();
    }
    out.push(r);
  }
  for (let i = 0; i < res.length; i++) {
    const x = res[i];
    if (x && x.id >= firstNew && x !== g && !out.includes(x) && !slots.includes(i)) x.dispose();
  }
  return out;
}

/** Throws for option keys outside `valid`, naming them and the valid ones. */
export function checkKeys(where: string, opts: object | undefined, valid: readonly string[]): void {
  if (!opts) return;
  if (typeof opts !== 'object') {
    throw new Error(`${where}: expected an options object, received ${typeof opts}`);
  }
  const bad = Object.keys(opts).filter((k) => !valid.includes(k));
  if (bad.length) {
    throw new Error(`${where}: unknown option${bad.length > 1 ? 's' : ''} ${bad.map((k) => `'${k}'`).join(', ')}; valid options are ${valid.map((k) => `'${k}'`).join(', ')}${didYouMean(bad, valid)}`);
  }
}

/**
 * Internal: "; did you mean 'gradType'?" for unknown keys that are a valid key in another case
 * style (grad_type, GradType) or a small typo away (edit distance <= 2); '' when none is.
 * @example didYouMean(['grad_type'], ['gradType', 'tau']) // "; did you mean 'gradType'?"
 */
export function didYouMean(bad: readonly string[], valid: readonly string[]): string {
  const norm = (k: string): string => k.replace(/[_-]/g, '').toLowerCase();
  const hints: string[] = [];
  for (const b of bad) {
    let best: string | undefined, bestD = 3;
    for (const v of valid) {
      const d = norm(v) === norm(b) ? 0 : editDistance(b, v);
      if (d < bestD) { best = v; bestD = d; }
    }
    if (best !== undefined && !hints.includes(best)) hints.push(bad.length > 1 ? `'${best}' for '${b}'` : `'${best}'`);
  }
  return hints.length ? `; did you mean ${hints.join(', ')}?` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
