/**
 * Bad input to ops throws an Error naming the op, what was expected and what was received:
 * shape mismatches, float32/float64 mixes, disposed tensors, bad axes, bad options. Also
 * checks that the test harness itself (gradcheck, assertClose) catches wrong answers.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gradcheck } from './helpers/gradcheck.js';
import { assertClose, tolFor } from './helpers/tolerance.js';
import { throwsWith } from './helpers/throws.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const f32 = (shape: number[]): Tensor => T.ones(shape);
const f64 = (shape: number[]): Tensor => T.ones(shape, { dtype: 'float64' });
const disposed = (shape: number[]): Tensor => { const t = T.ones(shape); t.dispose(); return t; };

describe('shape mismatches', () => {
  it('elementwise, matmul and linear', () => {
    throwsWith(() => T.maximum(f32([3, 2]), f32([3])), /^maximum: shapes \[3, 2\] and \[3\] cannot be broadcast together \(dimension 1: 2 vs 3\)/);
    throwsWith(() => T.where(f32([2]), f32([3]), f32([3])), /^where: shapes \[2\] and \[3\] cannot be broadcast/);
    throwsWith(() => T.matmul(f32([2, 3]), f32([4, 5])), /^matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/);
    throwsWith(() => T.matmul(f32([]), f32([2])), /^matmul: expected tensors of rank >= 1, received \[\] and \[2\]/);
    throwsWith(() => T.matmul(f32([2, 2, 3]), f32([3, 3, 1])), /^matmul: shapes \[2\] and \[3\] cannot be broadcast/);
    throwsWith(() => T.linear(f32([2, 3]), f32([4, 5])), /^linear: expected input with last dimension 5 \(weight \[4, 5\]\), received \[2, 3\]/);
    throwsWith(() => T.linear(f32([2, 3]), f32([3])), /^linear: expected weight of shape \(out, in\), received \[3\]/);
  });

  it('shape ops', () => {
    throwsWith(() => T.reshape(f32([2, 3]), [4, 2]), /^reshape: expected a shape with 6 elements \(input shape \[2, 3\]\), received \[4, 2\]/);
    throwsWith(() => T.reshape(f32([2, 3]), [-1, -1]), /^reshape: expected a shape of non-negative integers with at most one -1, received \[-1,-1\]/);
    throwsWith(() => T.squeeze(f32([2, 3]), 0), /^squeeze: expected axis 0 to have size 1, received shape \[2, 3\]/);
    throwsWith(() => T.permute(f32([2, 3]), [0]), /^permute: expected a permutation of 2 axes for shape \[2, 3\], received \[0\]/);
    throwsWith(() => T.permute(f32([2, 3]), [1, 1]), /^permute: expected a permutation, received \[1,1\]/);
    throwsWith(() => T.broadcastTo(f32([2]), [3]), /^broadcastTo: shapes \[2\] and \[3\] cannot be broadcast/);
    throwsWith(() => T.flatten(f32([2, 3, 4]), 2, 1), /^flatten: expected startDim <= endDim, received 2 and 1/);
  });

  it('slice, concat, stack, pad', () => {
    throwsWith(() => T.slice(f32([2, 3]), [0, 5]), /^slice: expected begin\[1\] in \[-3, 3\] for shape \[2, 3\], received 5/);
    throwsWith(() => T.slice(f32([2, 3]), [1, 0], [3, 1]), /^slice: expected size\[0\] in \[0, 1\] or -1 \(begin 1, shape \[2, 3\]\), received 3/);
    throwsWith(() => T.slice(f32([2, 3]), [0, 0, 0]), /^slice: expected 'begin' to be an integer or a list of at most 2 integers \(one per axis\), received \[0,0,0\]/);
    throwsWith(() => T.slice(f32([2, 3]), [0.5]), /^slice: expected 'begin' .* received \[0.5\]/);
    throwsWith(() => T.sliceAxis(f32([2, 3]), 0, 1.5), /^sliceAxis: expected integer start and end, received 1.5 and undefined/);
    throwsWith(() => T.concat([f32([2, 3]), f32([2, 4])], 0), /^concat: expected xs\[1\] to match \[2, 3\] except on axis 0, received \[2, 4\]/);
    throwsWith(() => T.concat([f32([2, 3]), f32([3])], 0), /^concat: expected xs\[1\] to match \[2, 3\] except on axis 0, received \[3\]/);
    throwsWith(() => T.concat([]), /^concat: expected a non-empty array of tensors, received an empty array/);
    throwsWith(() => T.stack([f32([2]), f32([3])]), /^stack: expected every tensor to have shape \[2\], received \[3\] for xs\[1\]/);
    throwsWith(() => T.pad(f32([2, 3]), [1]), /^pad: expected an even-length flat list of at most 4 numbers \(torch F.pad form\) for a tensor of shape \[2, 3\], received \[1\]/);
    throwsWith(() => T.pad(f32([2, 3]), [1, 1, 1, 1, 1, 1]), /^pad: expected an even-length flat list of at most 4 numbers/, /received \[1,1,1,1,1,1\]/);
    throwsWith(() => T.pad(f32([2, 3]), [[1, 1], [1], [0, 0]]), /^pad: expected at most 2 \[before, after\] pairs for a tensor of shape \[2, 3\], received/);
    throwsWith(() => T.pad(f32([2, 3]), [-1, 0]), /^pad: expected non-negative integer pads for a tensor of shape \[2, 3\], received \[-1,0\]/);
  });

  it('losses and normalisation', () => {
    throwsWith(() => T.mseLoss(f32([2, 3]), f32([3])), /^mseLoss: expected target of the input's shape \[2, 3\], received \[3\]/);
    throwsWith(() => T.crossEntropy(f32([3, 4]), [0, 1]), /^crossEntropy: expected class-index targets of shape \[3\] \(or probabilities of the input's shape\), received \[2\]/);
    throwsWith(() => T.crossEntropy(f32([3, 4]), [0, 4, 1]), /^crossEntropy: expected class indices that are integers in \[0, 3\], received 4 at position 1/);
    throwsWith(() => T.crossEntropy(f32([3, 4]), T.tensor([0, 1.5, 1])), /^crossEntropy: expected class indices that are integers in \[0, 3\], received 1.5 at position 1/);
    throwsWith(() => T.crossEntropy(f32([3, 4]), T.tensor([-1, 1, 1])), /^crossEntropy: expected class indices .* received -1 at position 0/);
    throwsWith(() => T.crossEntropy(f32([]), [0]), /^crossEntropy: expected logits of shape \(C\), \(N, C\) or \(N, C, d1, ...\), received \[\]/);
    throwsWith(() => T.crossEntropy(f32([3, 4]), 'abc' as Any), /^crossEntropy: expected targets to be a Tensor or an array of class indices, received string/);
    throwsWith(() => T.layerNorm(f32([2, 3]), [2]), /^layerNorm: expected an input whose trailing dimensions are normalizedShape \[2\], received \[2, 3\]/);
    throwsWith(() => T.layerNorm(f32([2, 3]), [3], f32([2])), /^layerNorm: expected weight of shape \[3\], received \[2\]/);
    throwsWith(() => T.layerNorm(f32([2, 3]), [3], null, f32([3, 1])), /^layerNorm: expected bias of shape \[3\], received \[3, 1\]/);
    throwsWith(() => T.groupNorm(f32([2, 6, 4]), 4), /^groupNorm: expected numGroups to be a positive integer dividing the 6 channels of \[2, 6, 4\], received 4/);
    throwsWith(() => T.groupNorm(f32([6]), 2), /^groupNorm: expected an input of shape \(N, C, ...\), received \[6\]/);
    throwsWith(() => T.groupNorm(f32([2, 6]), 2, f32([3])), /^groupNorm: expected weight of shape \[6\], received \[3\]/);
  });

  it('conv2d, unfold, fold', () => {
    throwsWith(() => T.conv2d(f32([1, 3, 5]), f32([2, 3, 3, 3])), /^conv2d: expected x of shape \(N, C, H, W\), received \[1, 3, 5\]/);
    throwsWith(() => T.conv2d(f32([1, 3, 5, 5]), f32([2, 3, 3])), /^conv2d: expected weight of shape \(O, C\/groups, kh, kw\), received \[2, 3, 3\]/);
    throwsWith(() => T.conv2d(f32([1, 3, 5, 5]), f32([2, 2, 3, 3])), /^conv2d: expected weight of shape \(O, 3, kh, kw\) for input \[1, 3, 5, 5\] and groups 1, received \[2, 2, 3, 3\]/);
    throwsWith(() => T.conv2d(f32([1, 3, 5, 5]), f32([2, 3, 3, 3]), f32([3])), /^conv2d: expected bias of shape \[2\], received \[3\]/);
    throwsWith(() => T.conv2d(f32([1, 3, 2, 2]), f32([2, 3, 3, 3])), /^conv2d: expected the \(dilated\) kernel 3x3 to fit the padded input \[1, 3, 2, 2\].*received an output size 0x0/);
    throwsWith(() => T.conv2d(f32([1, 4, 5, 5]), f32([3, 2, 3, 3]), null, { groups: 2 }), /^conv2d: expected option 'groups' to be a positive integer dividing both 4 input and 3 output channels, received 2/);
    throwsWith(() => T.unfold(f32([1, 1, 4, 4]), [2, 2, 2] as Any), /^unfold: expected option 'kernelSize' to be an integer >= 1 or a pair of them, received \[2,2,2\]/);
    throwsWith(() => T.fold(f32([1, 4, 5]), [3, 3], 2), /^fold: expected cols with L = 2\*2 = 4 windows for output size 3x3, received \[1, 4, 5\]/);
    throwsWith(() => T.fold(f32([1, 5, 4]), [3, 3], 2), /^fold: expected cols of shape \(N, C\*2\*2, L\), received \[1, 5, 4\]/);
  });
});

describe('float32 mixed with float64', () => {
  it('every multi-input op refuses and names both dtypes', () => {
    const dt = /dtype mismatch: expected both tensors to have the same dtype, received float32 and float64/;
    throwsWith(() => T.sub(f32([2]), f64([2])), /^sub: /, dt);
    throwsWith(() => T.pow(f32([2]), f64([2])), /^pow: /, dt);
    throwsWith(() => T.where(f32([2]), f32([2]), f64([2])), /^where: /, dt);
    throwsWith(() => T.matmul(f32([2, 2]), f64([2, 2])), /^matmul: /, dt);
    throwsWith(() => T.concat([f32([2]), f64([2])]), /^concat: /, dt);
    throwsWith(() => T.stack([f32([2]), f64([2])]), /^stack: /, dt);
    throwsWith(() => T.mseLoss(f32([2]), f64([2])), /^mseLoss: /, dt);
    throwsWith(() => T.crossEntropy(f32([2, 3]), f64([2, 3])), /^crossEntropy: /, dt);
    throwsWith(() => T.layerNorm(f32([2, 3]), [3], f64([3])), /^layerNorm: /, dt);
    throwsWith(() => T.groupNorm(f32([2, 4]), 2, null, f64([4])), /^groupNorm: /, dt);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), f64([1, 1, 2, 2])), /^conv2d: /, dt);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), f32([1, 1, 2, 2]), f64([1])), /^conv2d: /, dt);
  });
});

describe('disposed tensors', () => {
  it('every op names itself and the argument', () => {
    const live = /expected a live tensor, received a disposed tensor \(id \d+, shape \[2, 3\]\)/;
    throwsWith(() => T.where(disposed([2, 3]), f32([2, 3]), 0), /^where \(argument 'cond'\): /, live);
    throwsWith(() => T.max(disposed([2, 3])), /^max \(argument 'x'\): /, live);
    throwsWith(() => T.permute(disposed([2, 3]), [1, 0]), /^permute \(argument 'x'\): /, live);
    throwsWith(() => T.linear(f32([2, 3]), disposed([2, 3])), /^linear \(argument 'weight'\): /, live);
    throwsWith(() => T.cast(disposed([2, 3]), 'float64'), /^cast \(argument 'x'\): /, live);
    throwsWith(() => T.slice(disposed([2, 3]), [0]), /^slice \(argument 'x'\): /, live);
    throwsWith(() => T.concat([f32([2, 3]), disposed([2, 3])]), /^concat \(argument 'xs\[1\]'\): /, live);
    throwsWith(() => T.pad(disposed([2, 3]), [1, 1]), /^pad \(argument 'x'\): /, live);
    throwsWith(() => T.softmax(disposed([2, 3])), /^softmax \(argument 'x'\): /, live);
    throwsWith(() => T.logSoftmax(disposed([2, 3])), /^logSoftmax \(argument 'x'\): /, live);
    throwsWith(() => T.crossEntropy(f32([2, 3]), disposed([2, 3])), /^crossEntropy \(argument 'targets'\): /, live);
    throwsWith(() => T.crossEntropy(disposed([2, 3]), [0, 1]), /^crossEntropy \(argument 'logits'\): /, live);
    throwsWith(() => T.mseLoss(f32([2, 3]), disposed([2, 3])), /^mseLoss \(argument 'target'\): /, live);
    throwsWith(() => T.layerNorm(disposed([2, 3]), [3]), /^layerNorm \(argument 'x'\): /, live);
    throwsWith(() => T.groupNorm(f32([2, 3]), 1, disposed([2, 3])), /^groupNorm \(argument 'weight'\): /, live);
    throwsWith(() => T.dropout(disposed([2, 3]), 0.5), /^dropout \(argument 'x'\): /, live);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), disposed([2, 3])), /^conv2d \(argument 'weight'\): /, live);
  });
});

describe('bad axes', () => {
  it('out-of-range, non-integer and repeated axes', () => {
    throwsWith(() => T.sum(f32([2, 3]), 2), /^sum: expected an axis in \[-2, 1\], received 2/);
    throwsWith(() => T.mean(f32([2, 3]), -3), /^mean: expected an axis in \[-2, 1\], received -3/);
    throwsWith(() => T.min(f32([2, 3]), 0.5), /^min: expected an axis in \[-2, 1\], received 0.5/);
    throwsWith(() => T.sum(f32([2, 3]), [0, -2]), /^sum: expected distinct axes, received \[0,-2\]/);
    throwsWith(() => T.argmax(f32([2, 3]), 5), /^argmax: expected an axis in \[-2, 1\], received 5/);
    throwsWith(() => T.transpose(f32([2, 3]), 0, 2), /^transpose: expected an axis in \[-2, 1\], received 2/);
    throwsWith(() => T.unsqueeze(f32([2, 3]), 3), /^unsqueeze: expected an axis in \[-3, 2\], received 3/);
    throwsWith(() => T.softmax(f32([2, 3]), 2), /^softmax: expected an axis in \[-2, 1\], received 2/);
    throwsWith(() => T.logSoftmax(f32([2, 3]), -3), /^logSoftmax: expected an axis in \[-2, 1\], received -3/);
    throwsWith(() => T.concat([f32([2, 3])], 2), /^concat: expected an axis in \[-2, 1\], received 2/);
    throwsWith(() => T.stack([f32([2, 3])], 3), /^stack: expected an axis in \[-3, 2\], received 3/);
    throwsWith(() => T.sliceAxis(f32([2, 3]), 2, 0), /^sliceAxis: expected an axis in \[-2, 1\], received 2/);
  });
});

describe('bad options', () => {
  it('unknown option keys list the valid ones', () => {
    throwsWith(() => T.sum(f32([2, 3]), 0, { keepdims: true } as Any), /^sum: unknown option 'keepdims'; valid options are 'keepDims'/);
    throwsWith(() => T.max(f32([2, 3]), 0, { keep: true } as Any), /^max: unknown option 'keep'; valid options are 'keepDims'/);
    throwsWith(() => T.pad(f32([2, 3]), [1, 1], { mode: 'reflect' } as Any), /^pad: unknown option 'mode'; valid options are 'value'/);
    throwsWith(() => T.crossEntropy(f32([2, 3]), [0, 1], { weight: f32([3]) } as Any), /^crossEntropy: unknown option 'weight'; valid options are 'reduction', 'labelSmoothing'/);
    throwsWith(() => T.mseLoss(f32([2]), f32([2]), { reduce: 'sum' } as Any), /^mseLoss: unknown option 'reduce'; valid options are 'reduction'/);
    throwsWith(() => T.dropout(f32([2]), 0.5, { train: true } as Any), /^dropout: unknown option 'train'; valid options are 'training', 'seed'/);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), f32([1, 1, 2, 2]), null, { pading: 1 } as Any), /^conv2d: unknown option 'pading'; valid options are 'stride', 'padding', 'dilation', 'groups'/);
    throwsWith(() => T.unfold(f32([1, 1, 3, 3]), 2, { groups: 1 } as Any), /^unfold: unknown option 'groups'; valid options are 'stride', 'padding', 'dilation'/);
  });

  it('bad option values name the option, the expectation and the value', () => {
    throwsWith(() => T.cast(f32([2]), 'int32' as Any), /^cast: expected dtype 'float32' or 'float64', received "int32"/);
    throwsWith(() => T.pad(f32([2]), [1, 1], { value: 'x' } as Any), /^pad: expected option 'value' to be a number, received string/);
    throwsWith(() => T.crossEntropy(f32([2, 3]), [0, 1], { reduction: 'avg' } as Any), /^crossEntropy: expected option 'reduction' to be one of 'mean', 'sum', 'none', received "avg"/);
    throwsWith(() => T.crossEntropy(f32([2, 3]), [0, 1], { labelSmoothing: 1.5 }), /^crossEntropy: expected option 'labelSmoothing' in \[0, 1\], received 1.5/);
    throwsWith(() => T.mseLoss(f32([2]), f32([2]), { reduction: 'max' } as Any), /^mseLoss: expected option 'reduction' to be one of 'mean', 'sum', 'none', received "max"/);
    throwsWith(() => T.layerNorm(f32([2, 3]), [3], null, null, -1), /^layerNorm: expected eps to be a finite non-negative number, received -1/);
    throwsWith(() => T.groupNorm(f32([2, 4]), 2, null, null, NaN), /^groupNorm: expected eps to be a finite non-negative number, received NaN/);
    throwsWith(() => T.dropout(f32([2]), 1.5), /^dropout: expected a drop probability p in \[0, 1\], received 1.5/);
    throwsWith(() => T.dropout(f32([2]), 0.5, { training: 'yes' } as Any), /^dropout: expected option 'training' to be a boolean, received string/);
    throwsWith(() => T.dropout(f32([2]), 0.5, { seed: NaN }), /^dropout: expected option 'seed' to be a finite number, received NaN/);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), f32([1, 1, 2, 2]), null, { stride: 0 }), /^conv2d: expected option 'stride' to be an integer >= 1 or a pair of them, received 0/);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), f32([1, 1, 2, 2]), null, { padding: [1, -1] }), /^conv2d: expected option 'padding' to be an integer >= 0 or a pair of them, received \[1,-1\]/);
    throwsWith(() => T.conv2d(f32([1, 1, 3, 3]), f32([1, 1, 2, 2]), null, { dilation: 1.5 }), /^conv2d: expected option 'dilation' to be an integer >= 1 or a pair of them, received 1.5/);
    throwsWith(() => T.conv2d(f32([1, 2, 3, 3]), f32([2, 1, 2, 2]), null, { groups: 0 }), /^conv2d: expected option 'groups' to be a positive integer .* received 0/);
  });
});

describe('the harness catches wrong answers', () => {
  it('gradcheck rejects a custom op whose backward is off by a factor', async () => {
    const wrong = T.customFunction({
      forward: (ctx, x: Tensor) => { ctx.save(x); return x.mul(x); },
      backward: (ctx, g) => [g.mul(ctx.saved[0]).mul(2.001)],
    });
    const x = T.tensor([0.5, -1.5, 2], undefined, { dtype: 'float64', requiresGrad: true });
    await expect(gradcheck((t) => wrong(t), [x], { tol: tolFor('js', 'float64', 'grad') }))
      .rejects.toThrow(/autograd vs finite differences: element \d is/);
  });

  it('gradcheck rejects an op that mutates its input', async () => {
    const x = T.tensor([1, 2], undefined, { dtype: 'float64', requiresGrad: true });
    const mutating = (t: Tensor): Tensor => { t.backend.write(t.storage, [3, 4]); return t.mul(1); };
    await expect(gradcheck(mutating, [x], { tol: tolFor('js', 'float64', 'grad') })).rejects.toThrow(/input 0 was modified/);
  });

  it('assertClose uses atol + rtol |want| and reports the worst element', () => {
    const tol = { rtol: 1e-3, atol: 1e-6 };
    expect(() => assertClose([1.0009, 2], [1, 2], tol, 'ok')).not.toThrow();
    expect(() => assertClose([1, 2.01], [1, 2], tol, 'bad')).toThrow(/^bad: element 1 is 2.01, expected 2/);
    expect(() => assertClose([NaN], [1], tol, 'nan')).toThrow(/^nan: element 0 is NaN/);
    expect(() => assertClose([1], [1, 2], tol, 'len')).toThrow(/^len: length 1 differs from expected 2/);
  });
});
