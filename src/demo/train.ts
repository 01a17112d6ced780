/**
 * The demo's training loop: Adam with a cosine schedule over mini-batches of the fixed MNIST
 * split, a progress bar (loss, accuracy, mean solver steps), a per-epoch table, and the final
 * test accuracy. `runDemo` is what `npm run demo` runs; tests call it on a small subset.
 */
import '../tensor_methods.js';
import { tidy } from '../scope.js';
import { noGrad } from '../autograd/engine.js';
import { crossEntropy } from '../ops/loss.js';
import { argmax } from '../ops/reduce.js';
import { Adam } from '../optim/adam.js';
import { cosineAnnealing } from '../optim/schedule.js';
import { save } from '../io/safetensors.js';
import { Rng } from '../random.js';
import { setThreads, getThreads } from '../threads/settings.js';
import { MnistDEQ } from './model.js';
import { mnistSplit, type DigitSet } from './mnist_data.js';
import { batchOf, countCorrect, mean, permutation } from './batches.js';

export interface DemoOptions {
  epochs?: number;
  hidden?: number;
  solver?: string;
  grad?: 'ift' | 'phantom';
  batchSize?: number;
  lr?: number;
  /** Digits used for training / testing (default 8000 / 2000). */
  nTrain?: number;
  nTest?: number;
  seed?: number;
  /** Worker threads for the big kernels (default: the library's default, all available cores). */
  threads?: number;
  /** Forward solver iterations in training (default 12; eval uses 1.5x). */
  fMaxIter?: number;
  /** Random translation of training images, in pixels (default 2; 0 disables). */
  shift?: number;
  /** Label smoothing of the cross entropy (default 0.1). */
  labelSmoothing?: number;
  /** Where to write a safetensors checkpoint at the end. */
  savePath?: string;
  /** Output sink (default: console). `progress` lines may overwrite each other on a terminal. */
  log?: (line: string) => void;
  progress?: (line: string) => void;
}

export interface EpochRow {
  epoch: number;
  loss: number;
  trainAcc: number;
  testAcc: number;
  fSteps: number;
  residual: number;
  seconds: number;
}

export interface DemoResult {
  rows: EpochRow[];
  testAccuracy: number;
  seconds: number;
}

/** Accuracy of the model (eval mode) on a set. */
export async function evaluate(model: MnistDEQ, set: DigitSet, batchSize = 500): Promise<number> {
  model.eval();
  const all = Uint32Array.from({ length: set.n }, (_, i) => i);
  let correct = 0;
  for (let s = 0; s < set.n; s += batchSize) {
    correct += await tidy(async () => {
      const { x, y } = batchOf(set, all, s, Math.min(set.n, s + batchSize));
      const { logits } = await noGrad(() => model.forward(x));
      return countCorrect(argmax(logits, 1).dataSync(), y);
    });
  }
  model.train();
  return correct / set.n;
}

function bar(frac: number, width = 24): string {
  const k = Math.round(frac * width);
  return `[${'#'.repeat(k)}${'.'.repeat(width - k)}]`;
}

/**
 * Trains the DEQ classifier and returns the per-epoch table and the test accuracy.
 * @example const { testAccuracy } = await runDemo({ epochs: 1, nTrain: 1000, nTest: 200 });
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const progress = opts.progress ?? (() => {});
  const epochs = opts.epochs ?? 20, batchSize = opts.batchSize ?? 64, seed = opts.seed ?? 0;
  if (opts.threads !== undefined) await setThreads(opts.threads);
  const t0 = performance.now();
  const { train, test } = mnistSplit(seed, opts.nTrain ?? 8000, opts.nTest ?? 2000);
  const model = new MnistDEQ({ hidden: opts.hidden, solver: opts.solver, grad: opts.grad, seed, fMaxIter: opts.fMaxIter });
  const lr = opts.lr ?? 3e-3;
  const opt = new Adam(model.parameters(), { lr });
  const steps = epochs * Math.ceil(train.n / batchSize);
  const lrAt = cosineAnnealing({ baseLr: lr, tMax: steps, warmupSteps: Math.min(50, Math.floor(steps / 10)) });
  const rng = new Rng(seed + 1);
  const shift = opts.shift ?? 2, labelSmoothing = opts.labelSmoothing ?? 0.1;
  const rows: EpochRow[] = [];
  let step = 0;
  log(`tsdeq MNIST demo: DEQ (hidden ${model.hidden}, ${model.deq.options.fSolver} forward, ${opts.grad ?? 'ift'} backward), ${train.n} train / ${test.n} test digits, ${epochs} epochs, ${getThreads()} thread${getThreads() === 1 ? '' : 's'}`);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const te = performance.now();
    const idx = permutation(train.n, rng);
    let lossSum = 0, correct = 0, seen = 0, stepsSum = 0, resSum = 0, batches = 0;
    for (let s = 0; s < train.n; s += batchSize) {
      opt.setLr(lrAt(step++));
      const r = await tidy(async () => {
        const { x, y } = batchOf(train, idx, s, Math.min(train.n, s + batchSize), shift, rng);
        const { logits, info } = await model.forward(x);
        const loss = crossEntropy(logits, y, { labelSmoothing });
        await loss.backward();
        opt.step();
        opt.zeroGrad();
        return {
          loss: loss.item(), correct: countCorrect(argmax(logits, 1).dataSync(), y), n: y.length,
          nstep: mean(info.nstep.dataSync()), res: mean(info.relLowest.dataSync()),
        };
      });
      lossSum += r.loss * r.n; correct += r.correct; seen += r.n; stepsSum += r.nstep; resSum += r.res; batches++;
      progress(`epoch ${epoch}/${epochs} ${bar(seen / train.n)} loss ${(lossSum / seen).toFixed(4)} acc ${(correct / seen).toFixed(4)} steps ${(stepsSum / batches).toFixed(1)}`);
    }
    const testAcc = await evaluate(model, test);
    const row: EpochRow = {
      epoch, loss: lossSum / seen, trainAcc: correct / seen, testAcc,
      fSteps: stepsSum / batches, residual: resSum / batches, seconds: (performance.now() - te) / 1000,
    };
    rows.push(row);
    if (epoch === 1) log('epoch |   loss | train acc | test acc | fwd steps | rel residual | seconds');
    log(`${String(epoch).padStart(5)} | ${row.loss.toFixed(4)} |    ${row.trainAcc.toFixed(4)} |   ${row.testAcc.toFixed(4)} | ${row.fSteps.toFixed(2).padStart(9)} | ${row.residual.toExponential(2).padStart(12)} | ${row.seconds.toFixed(1).padStart(7)}`);
  }
  const testAccuracy = rows[rows.length - 1].testAcc;
  if (opts.savePath) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(opts.savePath, await save(model));
    log(`saved checkpoint: ${opts.savePath}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`total time: ${seconds.toFixed(1)} s`);
  log(`test accuracy: ${testAccuracy.toFixed(4)}`);
  return { rows, testAccuracy, seconds };
}
