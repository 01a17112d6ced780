/**
 * Lifetimes: `tidy(fn)` scopes dispose every tensor created inside them except what `fn`
 * returns or `keep()`s, and release the saved tensors of graph nodes that nothing kept can
 * reach. `tidy` also works around an `async` function (a training step); scopes form one
 * stack, so async tidies must be awaited one after another, not interleaved. Library code
 * never holds a scope across an await (`tidyCall`), so library calls may interleave freely.
 */
import type { Tensor } from './tensor.js';
import type { Node } from './autograd/node.js';
import { show } from './utils/format.js';

interface Scope {
  /** Tensors created in this scope (or handed on to it by an inner one), each once. */
  tensors: Tensor[];
  nodes: Node[];
  /** Tensors `keep()` took out of this scope (null until the first). */
  kept: Set<Tensor> | null;
}

/**
 * A set that stays a short array while small (a scope's survivors are usually none to a few;
 * `Set.clear()` would allocate a new table at every scope end) and becomes a Set when large.
 */
class SmallSet<T> {
  private list: T[] = [];
  private big: Set<T> | null = null;
  add(v: T): void {
    if (this.big !== null) { this.big.add(v); return; }
    if (this.list.includes(v)) return;
    this.list.push(v);
    if (this.list.length > 16) this.big = new Set(this.list);
  }
  has(v: T): boolean {
    return this.big !== null ? this.big.has(v) : this.list.includes(v);
  }
  values(): Iterable<T> {
    return this.big ?? this.list;
  }
  clear(): void {
    this.list.length = 0;
    this.big = null;
  }
}

class ScopeStack {
  private stack: Scope[] = [];
  /** Ended scopes, reused by `begin` (a tidy per solver iteration should not allocate). */
  private pool: Scope[] = [];
  /** Scratch set of an ending scope's survivors (end never runs user code, so one suffices). */
  private readonly survivors = new SmallSet<Tensor>();

  /** Adds t to the innermost scope; false when no scope is open (the caller then registers t with the GC backstop). */
  track(t: Tensor): boolean {
    const n = this.stack.length;
    if (n === 0) return false;
    this.stack[n - 1].tensors.push(t);
    return true;
  }
  trackNode(n: Node): void {
    const s = this.stack[this.stack.length - 1];
    if (s) s.nodes.push(n);
  }
  /** Takes t out of every scope so no tidy disposes it (it goes to the GC backstop). */
  keep(t: Tensor): void {
    for (const s of this.stack) (s.kept ??= new Set()).add(t);
    t.backstop();
  }
  begin(): Scope {
    const s: Scope = this.pool.pop() ?? { tensors: [], nodes: [], kept: null };
    this.stack.push(s);
    return s;
  }
  end(scope: Scope, result: unknown): void {
    const top = this.stack.pop();
    if (top !== scope) {
      if (top) this.stack.push(top);
      this.abandon(scope);
      throw new Error('tidy: expected scopes to end in the reverse order they began, received an async tidy (or async backward) ending while a later one is still running; await them one after another instead of interleaving them');
    }
    this.close(scope, result, this.stack[this.stack.length - 1]);
  }
  /**
   * Takes `scope` off the stack without ending it (the synchronous part of an internal call
   * returned a promise): nothing created later is tracked by it. Returns the scope it was
   * opened in, for `finish`.
   */
  detach(scope: Scope): Scope | undefined {
    const i = this.stack.lastIndexOf(scope);
    if (i < 0) return undefined;
    this.stack.splice(i, 1);
    return this.stack[i - 1];
  }
  /**
   * Ends a detached scope: disposes what it tracked except `result`'s tensors (and kept ones),
   * which go to `parent` if that scope is still open, else to the GC backstop.
   */
  finish(scope: Scope, result: unknown, parent: Scope | undefined): void {
    this.close(scope, result, parent !== undefined && this.stack.includes(parent) ? parent : undefined);
  }
  private close(scope: Scope, result: unknown, parent: Scope | undefined): void {
    const survivors = this.survivors;
    survivors.clear();
    collectTensors(result, survivors);
    const kept = scope.kept;
    if (kept) for (const t of kept) survivors.add(t);
    const list = scope.tensors;
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      if (kept !== null && kept.has(t)) continue; // taken out by keep()
      if (!survivors.has(t)) t.dispose();
      else if (t.isDisposed) continue;
      // Survivors move to the enclosing scope; leaving the last one, to the GC backstop.
      else if (parent) parent.tensors.push(t);
      else t.backstop();
    }
    if (scope.nodes.length > 0) this.releaseNodes(scope, survivors, parent);
    survivors.clear();
    list.length = 0;
    scope.nodes.length = 0;
    scope.kept = null;
    this.pool.push(scope);
  }
  /** Nodes that a survivor's graph (or a kept tensor's) still reaches stay alive; the rest are released. */
  private releaseNodes(scope: Scope, survivors: SmallSet<Tensor>, parent: Scope | undefined): void {
    const reachable = new Set<Node>();
    const stack: Node[] = [];
    for (const t of survivors.values()) {
      if (t.node) stack.push(t.node);
      if (t.grad?.node) stack.push(t.grad.node);
    }
    while (stack.length) {
      const n = stack.pop()!;
      if (reachable.has(n)) continue;
      reachable.add(n);
      for (const p of n.parents()) stack.push(p);
    }
    for (const n of scope.nodes) {
      if (reachable.has(n)) parent?.nodes.push(n);
      else n.release();
    }
  }
  /**
   * Takes a scope that cannot end cleanly (interleaved async tidies) off the stack without
   * disposing anything: what it tracked is handed to the scope below it (or left to the
   * garbage-collector backstop), so no tensor another computation still uses is freed.
   */
  private abandon(scope: Scope): void {
    const i = this.stack.indexOf(scope);
    if (i < 0) return;
    this.stack.splice(i, 1);
    const below = this.stack[i - 1];
    for (const t of scope.tensors) {
      if (t.isDisposed || scope.kept?.has(t)) continue;
      if (below) below.tensors.push(t);
      else t.backstop();
    }
    if (below) for (const n of scope.nodes) below.nodes.push(n);
  }
  depth(): number {
    return this.stack.length;
  }
}

export const scopes = new ScopeStack();

function collectTensors(v: unknown, out: SmallSet<Tensor>, seen: Set<unknown> | null = null): void {
  if (v === null || typeof v !== 'object') return;
  if (isTensor(v)) {
    out.add(v);
    return;
  }
  if (seen === null && Array.isArray(v) && flatTensors(v)) {
    // A flat list of tensors (a VJP's results): nothing to recurse into, no cycle to guard.
    for (let i = 0; i < v.length; i++) if (v[i]) out.add(v[i] as Tensor);
    return;
  }
  if (seen === null) seen = new Set();
  else if (seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const x of v) collectTensors(x, out, seen);
    return;
  }
  if (v instanceof Map) {
    for (const x of v.values()) collectTensors(x, out, seen);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    for (const x of Object.values(v as Record<string, unknown>)) collectTensors(x, out, seen);
  }
}

/** Whether every entry is a tensor, null or undefined. */
function flatTensors(v: unknown[]): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x !== null && x !== undefined && !isTensor(x)) return false;
  }
  return true;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'storage' in v && 'shape' in v && 'dispose' in v;
}

/**
 * The async tidy whose body returned its promise in the current synchronous turn (null once a
 * microtask ran): an async tidy that begins while it is set cannot be nested in that body (the
 * body's code after its first await has not run yet), so it was started concurrently.
 */
let pendingThisTurn: object | null = null;

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as unknown;

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in arrays or plain
 * objects too) and those passed to `keep()`. Works with async functions: an async tidy owns
 * every tensor created until it settles, so async tidies run one after another (or nested,
 * awaited inside each other); one started while another is still pending rejects (see the
 * README's "Memory and lifetimes").
 * @example const y = tidy(() => x.mul(2).add(1)); // the intermediate x*2 is freed
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') {
    throw new Error(`tidy: expected fn to be a function, received ${fn === null ? 'null' : typeof fn}`);
  }
  if (pendingThisTurn !== null && fn instanceof (AsyncFunction as typeof Function)) {
    // Started beside a pending async tidy (Promise.all of two steps): not run at all.
    return Promise.reject(new Error('tidy: expected async tidies to run one after another, received an async tidy started while another one is still pending (for example two training steps in Promise.all); an async tidy owns every tensor created until it settles, so await each one before starting the next')) as T;
  }
  const scope = scopes.begin();
  let result: T;
  const token = {};
  // Queued before fn runs, so it clears the flag before fn's own continuations run.
  queueMicrotask(() => { if (pendingThisTurn === token) pendingThisTurn = null; });
  try {
    result = fn();
  } catch (e) {
    scopes.end(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    pendingThisTurn = token;
    return result.then(
      (r) => { scopes.end(scope, r); return r; },
      (e) => { scopes.end(scope, undefined); throw e; },
    ) as T;
  }
  scopes.end(scope, result);
  return result;
}

/**
 * Internal: a scope around `fn`'s synchronous part. A synchronous `fn` is tidied like `tidy`.
 * When `fn` returns a promise (a user's async func or backward), the scope leaves the stack at
 * once, so no concurrent code's tensors land in it, and ends when the promise settles: what
 * `fn` created before its first await is freed then, except what it resolves to. What it
 * creates after an await belongs to the scope open at that time (library code never holds a
 * scope across an await).
 */
export function tidyCall<T>(fn: () => T): T {
  const scope = scopes.begin();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.end(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    const parent = scopes.detach(scope);
    return result.then(
      (r) => { scopes.finish(scope, r, parent); return r; },
      (e) => { scopes.finish(scope, undefined, parent); throw e; },
    ) as T;
  }
  scopes.end(scope, result);
  return result;
}

/**
 * Marks a tensor so no enclosing `tidy` disposes it. Returns it.
 * @example const state = tidy(() => keep(zeros([3])).add(1)); // the zeros survive too
 */
export function keep<T extends Tensor>(t: T): T {
  if (!isTensor(t)) throw new Error(`keep: expected a Tensor, received ${show(t)}`);
  scopes.keep(t);
  return t;
}
