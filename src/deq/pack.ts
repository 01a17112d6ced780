/**
 * Multi-tensor DEQ states: a list of tensors, each (B, ...), is packed into one (B, D) state for
 * the solver and the gradient functors, and unpacked for the user's function and the outputs
 * (TorchDEQ's MDEQ wrapper). Both directions are differentiable ops.
 */
import { Tensor, fmtShape } from '../tensor.js';
import { concat, sliceAxis } from '../ops/index_ops.js';
import { reshape } from '../ops/shape.js';

export interface StatePacker {
  pack(z: Tensor | Tensor[]): Tensor;
  unpack(z: Tensor): Tensor | Tensor[];
}

const single: StatePacker = {
  pack(z) {
    if (!(z instanceof Tensor)) throw new Error('deq: expected the function to return a Tensor like zInit, received an array');
    return z;
  },
  unpack: (z) => z,
};

/** A packer for states shaped like `zInit`. */
export function packer(where: string, zInit: Tensor | Tensor[]): StatePacker {
  if (zInit instanceof Tensor) {
    zInit.assertLive(where);
    if (zInit.rank < 1) throw new Error(`${where}: expected zInit with a batch axis (B, ...), received shape ${fmtShape(zInit.shape)}`);
    return single;
  }
  if (!Array.isArray(zInit) || zInit.length === 0 || !zInit.every((t) => t instanceof Tensor)) {
    throw new Error(`${where}: expected zInit to be a Tensor or a non-empty array of Tensors, received ${typeof zInit}`);
  }
  const shapes = zInit.map((t, i) => {
    t.assertLive(`${where} (zInit[${i}])`);
    if (t.rank < 1 || t.shape[0] !== zInit[0].shape[0]) {
      throw new Error(`${where}: expected every zInit tensor to share the batch size ${zInit[0].shape[0]}, received shape ${fmtShape(t.shape)} at index ${i}`);
    }
    return t.shape;
  });
  const widths = shapes.map((s) => s.slice(1).reduce((a, b) => a * b, 1));
  return {
    pack(z) {
      if (!Array.isArray(z) || z.length !== shapes.length) {
        throw new Error(`${where}: expected the function to return ${shapes.length} tensors like zInit, received ${Array.isArray(z) ? z.length : 'a single tensor'}`);
      }
      const flat = z.map((t, i) => {
        if (t.size !== shapes[i].reduce((a, b) => a * b, 1)) {
          throw new Error(`${where}: expected state ${i} of shape ${fmtShape(shapes[i])}, received ${fmtShape(t.shape)}`);
        }
        return reshape(t, [shapes[i][0], widths[i]]);
      });
      const out = concat(flat, 1);
      flat.forEach((t, i) => { if (t !== z[i]) t.dispose(); });
      return out;
    },
    unpack(z) {
      let off = 0;
      return shapes.map((s, i) => {
        const part = sliceAxis(z, 1, off, off + widths[i]);
        off += widths[i];
        const r = reshape(part, s);
        part.dispose();
        return r;
      });
    },
  };
}
