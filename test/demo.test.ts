/**
 * The main job (`npm run demo`) on a small subset: it trains, prints the table and the final
 * accuracy line, and learns something real in a few seconds.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { init, memory } from '../src/index.js';
import { runDemo } from '../src/demo/train.js';
import { parseArgs } from '../src/demo/main_args.js';
import { mnistSplit } from '../src/demo/mnist_data.js';
import { reporter } from '../src/demo/report.js';

beforeAll(async () => { await init(); });

describe('MNIST demo', () => {
  it('uses a fixed, seeded 8000/2000 split of the 10,000 digits', () => {
    const a = mnistSplit(0), b = mnistSplit(0), c = mnistSplit(1);
    expect(a.train.n).toBe(8000);
    expect(a.test.n).toBe(2000);
    expect(Array.from(a.test.y.slice(0, 50))).toEqual(Array.from(b.test.y.slice(0, 50)));
    expect(Array.from(a.test.y.slice(0, 50))).not.toEqual(Array.from(c.test.y.slice(0, 50)));
    const counts = new Array(10).fill(0);
    for (const y of a.train.y) counts[y]++;
    expect(Math.min(...counts)).toBeGreaterThan(600);
  });

  it('trains on a subset: prints the table and the accuracy line, and learns', async () => {
    const lines: string[] = [];
    const progress: string[] = [];
    const before = memory().numTensors;
    const res = await runDemo({ epochs: 2, nTrain: 1200, nTest: 400, log: (s) => lines.push(s), progress: (s) => progress.push(s) });
    expect(res.rows.length).toBe(2);
    expect(lines.some((l) => /^epoch \| +loss \| train acc \| test acc \| fwd steps/.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^test accuracy: 0\.\d{4}$/);
    expect(progress[progress.length - 1]).toMatch(/epoch 2\/2 \[#+\] loss \d\.\d{4} acc 0\.\d{4} steps \d+\.\d/);
    expect(res.rows[1].loss).toBeLessThan(res.rows[0].loss);
    expect(res.testAccuracy).toBeGreaterThan(0.7); // 2 short epochs with augmentation (deterministic seeds)
    // Parameters and optimizer state remain; nothing per step leaks.
    expect(memory().numTensors - before).toBeLessThan(40);
  });

  it('prints clean whole lines when not on a terminal (no bar fragments, no repeated epoch lines); redraws the bar on one', async () => {
    let piped = '';
    await runDemo({ epochs: 2, nTrain: 256, nTest: 64, batchSize: 64, ...reporter({ write: (s) => { piped += s; } }) });
    expect(piped).not.toMatch(/[\r\x1b]/);
    expect(piped).not.toMatch(/\[[# .-]*\]/); // no progress bar
    const lines = piped.split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => /^epoch \|/.test(l)).length).toBe(1);
    expect(lines.filter((l) => /^ +1 \| /.test(l)).length).toBe(1);
    expect(lines.filter((l) => /^ +2 \| /.test(l)).length).toBe(1);
    expect(lines[lines.length - 1]).toMatch(/^test accuracy: 0\.\d{4}$/);
    let tty = '';
    const r = reporter({ isTTY: true, write: (s) => { tty += s; } });
    r.progress('epoch 1/1 [##  ]');
    r.log('row');
    expect(tty).toBe('\r\x1b[Kepoch 1/1 [##  ]\r\x1b[Krow\n');
  });

  it('parses its command line and rejects unknown options', () => {
    expect(parseArgs(['--epochs', '3', '--hidden=64', '--solver', 'broyden', '--grad', 'phantom', '--save', '/tmp/x.safetensors']))
      .toEqual({ epochs: 3, hidden: 64, solver: 'broyden', grad: 'phantom', savePath: '/tmp/x.safetensors' });
    expect(() => parseArgs(['--epoch', '3'])).toThrow(/unknown option '--epoch'; valid options are --epochs/);
    expect(() => parseArgs(['--grad', 'exact'])).toThrow(/--grad: expected 'ift' or 'phantom', received 'exact'/);
    expect(() => parseArgs(['--solver', 'newton'])).toThrow(/--solver: expected one of .*anderson/);
  });
});
