/**
 * Checkpoints proven in PyTorch (Debian's python3-torch, torch 1.13 CPU; `.ci/run` installs it):
 * - a DEQ trained here (linear injection, tanh cell with weight norm, Anderson forward, IFT) is
 *   saved with `save()`, loaded by test/python/torch_deq.py into the same model written in plain
 *   PyTorch (`torch.nn.utils.weight_norm`: cell.weight_g / cell.weight_v), and PyTorch's fixed
 *   point and outputs match ours (1e-5 in float32, 1e-10 in float64);
 * - a checkpoint PyTorch writes (its own safetensors writer) loads here with `load()` and gives
 *   PyTorch's fixed point and outputs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { nn, optim, tensor, getDeq, type DType, type Tensor } from '../src/index.js';

const SCRIPT = join(__dirname, 'python', 'torch_deq.py');

/** A python3 that imports torch (Debian's python3-torch lives under /usr/bin/python3). */
function findPython(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return py;
    } catch { /* next */ }
  }
  throw new Error('pytorch_checkpoint.test: no python3 with torch; install python3-torch (.ci/run does)');
}
const PY = findPython();
const dir = mkdtempSync(join(tmpdir(), 'tsdeq-torch-'));

interface TorchOut { z: number[][]; y: number[][]; residual: number; keys: string[] }

function python(args: string[]): TorchOut {
  execFileSync(PY, [SCRIPT, ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  return JSON.parse(readFileSync(args[args.length - 1], 'utf8')) as TorchOut;
}

class DEQNet extends nn.Module<[Tensor], Promise<{ z: Tensor; y: Tensor }>> {
  readonly inj: nn.Linear;
  readonly cell: nn.Linear;
  readonly readout: nn.Linear;
  readonly deq;
  constructor(dIn: number, d: number, dOut: number, seed: number, dtype: DType, tol: number) {
    super();
    this.inj = this.registerModule('inj', new nn.Linear(dIn, d, { seed, dtype }));
    this.cell = this.registerModule('cell', new nn.Linear(d, d, { seed: seed + 1, dtype }));
    this.readout = this.registerModule('readout', new nn.Linear(d, dOut, { seed: seed + 2, dtype }));
    this.deq = this.registerModule('deq', getDeq({ fSolver: 'anderson', fMaxIter: 30, fTol: tol, evalFMaxIter: 400, ift: true }));
    T.applyNorm(this.cell); // weight_g, weight_v as torch.nn.utils.weight_norm names them
  }
  async forward(x: Tensor): Promise<{ z: Tensor; y: Tensor }> {
    const u = this.inj.forward(x);
    const zInit = T.zeros([x.shape[0], this.cell.outFeatures], { dtype: x.dtype });
    const { zOut } = await this.deq.forward((z: Tensor) => this.cell.forward(z).add(u).tanh(), zInit, { solverKwargs: { m: 5 } });
    const z = zOut[zOut.length - 1];
    return { z, y: this.readout.forward(z) };
  }
}

const DIMS = { dIn: 3, d: 8, dOut: 2 };
const X = [[0.5, -1, 0.25], [-0.3, 0.8, 1.2], [1.5, 0.1, -0.7]];

function maxAbsDiff(a: Tensor, b: number[][]): number {
  const got = a.toArray() as number[][];
  let m = 0;
  got.forEach((row, i) => row.forEach((v, j) => { m = Math.max(m, Math.abs(v - b[i][j])); }));
  return m;
}

const CASES: { dtype: DType; tol: number; match: number }[] = [
  { dtype: 'float32', tol: 1e-7, match: 1e-5 },
  { dtype: 'float64', tol: 1e-14, match: 1e-10 },
];

describe('checkpoints proven in PyTorch', () => {
  for (const { dtype, tol, match } of CASES) {
    it(`${dtype}: a DEQ trained here loads in PyTorch and gives the same fixed point and outputs`, async () => {
      const model = new DEQNet(DIMS.dIn, DIMS.d, DIMS.dOut, 10, dtype, tol);
      nn.init.constant_(model.cell.tensor('weight_g'), 0.5 / Math.sqrt(DIMS.d)); // a contractive cell
      const x = tensor(X, undefined, { dtype });
      const target = tensor([[1, 0], [0, 1], [0.5, 0.5]], undefined, { dtype });
      const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
      for (let step = 0; step < 5; step++) {
        await T.tidy(async () => {
          T.resetNorm(model);
          const { y } = await model.forward(x);
          await y.sub(target).square().mean().backward();
          opt.step();
          opt.zeroGrad();
        });
      }
      model.eval();
      const { z, y } = await model.forward(x);
      const ckpt = join(dir, `ours-${dtype}.safetensors`), io = join(dir, `io-${dtype}.json`), out = join(dir, `torch-${dtype}.json`);
      writeFileSync(ckpt, await T.save(model, { metadata: { format: 'pt' } }));
      writeFileSync(io, JSON.stringify({ x: X }));
      const torch = python(['load', ckpt, io, out]);
      expect(torch.keys).toEqual(['cell.bias', 'cell.weight_g', 'cell.weight_v', 'inj.bias', 'inj.weight', 'readout.bias', 'readout.weight']);
      expect(torch.residual).toBeLessThan(dtype === 'float64' ? 1e-14 : 1e-6);
      expect(maxAbsDiff(z, torch.z)).toBeLessThan(match);
      expect(maxAbsDiff(y, torch.y)).toBeLessThan(match);
      // The outputs are not trivially equal to an untrained model's (training changed them).
      const fresh = new DEQNet(DIMS.dIn, DIMS.d, DIMS.dOut, 10, dtype, tol).eval();
      nn.init.constant_(fresh.cell.tensor('weight_g'), 0.5 / Math.sqrt(DIMS.d));
      expect(maxAbsDiff((await fresh.forward(x)).y, torch.y)).toBeGreaterThan(1e-4);
    });

    it(`${dtype}: a checkpoint written by PyTorch loads here and gives PyTorch's outputs`, async () => {
      const ckpt = join(dir, `torch-made-${dtype}.safetensors`), io = join(dir, `io2-${dtype}.json`), out = join(dir, `torch-made-${dtype}.json`);
      writeFileSync(io, JSON.stringify({ x: X }));
      const torch = python(['make', dtype, String(DIMS.dIn), String(DIMS.d), String(DIMS.dOut), '7', ckpt, io, out]);
      expect(torch.residual).toBeLessThan(dtype === 'float64' ? 1e-14 : 1e-6);
      const model = new DEQNet(DIMS.dIn, DIMS.d, DIMS.dOut, 99, dtype, tol);
      const res = T.load(model, new Uint8Array(readFileSync(ckpt)));
      expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
      model.eval();
      const { z, y } = await model.forward(tensor(X, undefined, { dtype }));
      expect(maxAbsDiff(z, torch.z)).toBeLessThan(match);
      expect(maxAbsDiff(y, torch.y)).toBeLessThan(match);
    });
  }
});
