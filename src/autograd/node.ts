/**
 * A node of the reverse-mode graph: it knows where gradients go (its inputs' nodes, or leaf
 * tensors) and holds its own handles on the tensors its backward needs, so disposing the
 * user's tensors never breaks a pending backward.
 */
import type { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { scopes } from '../scope.js';
import { peekNextTensorId } from '../tensor.js';

/** Backward of one op: maps the gradient of the output to one gradient per input (null: none). */
/**
 * `needs[j]` says whether input j's gradient is wanted by this backward pass (an op may skip
 * computing the others; returning them anyway is allowed and they are discarded).
 */
export type BackwardFn = (grad: Tensor, saved: readonly Tensor[], needs: readonly boolean[]) =>
  (Tensor | null | undefined)[] | Promise<(Tensor | null | undefined)[]>;

/** Where an input's gradient goes: its producing node, or the leaf tensor itself. */
export type Edge = Node | Tensor | null;

let nodeIds = 0;

/** The gradient destination of a tensor: its producing node, or the leaf it stands for. */
export function edgeOf(t: Tensor): Edge {
  return t.requiresGrad ? (t.node ?? t.target) : null;
}

export class Node {
  readonly id = nodeIds++;
  /** Creation time on the tensor-id clock: a node can only reach tensors with smaller ids and nodes with smaller epochs. */
  readonly epoch = peekNextTensorId();
  readonly name: string;
  readonly edges: Edge[];
  readonly inputShapes: (readonly number[])[];
  readonly inputDTypes: DType[];
  private savedTensors: Tensor[];
  private fn: BackwardFn | null;
  released = false;

  /** Creates the node and makes it `out`'s producer (before aliasing `saved`, which may include `out`). */
  constructor(name: string, inputs: readonly Tensor[], saved: readonly Tensor[], fn: BackwardFn, out: Tensor) {
    this.name = name;
    this.edges = inputs.map(edgeOf);
    this.inputShapes = inputs.map((t) => t.shape);
    this.inputDTypes = inputs.map((t) => t.dtype);
    out.node = this;
    out.requiresGrad = true;
    this.savedTensors = saved.map((t) => t.alias(false));
    this.fn = fn;
    scopes.trackNode(this);
  }

  private parentList: Node[] | null = null;

  /** Nodes this node sends gradients to (edges never change, so the list is built once). */
  parents(): readonly Node[] {
    if (this.parentList === null) {
      const list: Node[] = [];
      for (const e of this.edges) if (e instanceof Node) list.push(e);
      this.parentList = list;
    }
    return this.parentList;
  }

  get saved(): readonly Tensor[] {
    return this.savedTensors;
  }

  apply(grad: Tensor, needs: readonly boolean[] = this.edges.map((e) => e !== null)): (Tensor | null | undefined)[] | Promise<(Tensor | null | undefined)[]> {
    if (!this.fn) {
      throw new Error(`backward: the graph through '${this.name}' was already freed by an earlier backward; pass { retainGraph: true } to the first call to backward twice`);
    }
    return this.fn(grad, this.savedTensors, needs);
  }

  /** Frees the saved tensors; the node can no longer run backward. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const t of this.savedTensors) t.dispose();
    this.savedTensors = [];
    this.fn = null;
  }
}
