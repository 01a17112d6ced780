/**
 * The demo's command line: --epochs N, --hidden N, --solver NAME, --grad ift|phantom,
 * --save PATH, --train N, --test N, --batch N, --lr X, --seed N, --threads N.
 */
import { listSolvers } from '../solvers/index.js';
import type { DemoOptions } from './train.js';

const FLAGS: Record<string, { key: keyof DemoOptions; parse: (v: string) => unknown }> = {
  '--epochs': { key: 'epochs', parse: (v) => posInt('--epochs', v) },
  '--hidden': { key: 'hidden', parse: (v) => posInt('--hidden', v) },
  '--solver': { key: 'solver', parse: (v) => { if (!listSolvers().includes(v)) throw new Error(`--solver: expected one of ${listSolvers().join(', ')}, received '${v}'`); return v; } },
  '--grad': { key: 'grad', parse: (v) => { if (v !== 'ift' && v !== 'phantom') throw new Error(`--grad: expected 'ift' or 'phantom', received '${v}'`); return v; } },
  '--save': { key: 'savePath', parse: (v) => v },
  '--train': { key: 'nTrain', parse: (v) => posInt('--train', v) },
  '--test': { key: 'nTest', parse: (v) => posInt('--test', v) },
  '--batch': { key: 'batchSize', parse: (v) => posInt('--batch', v) },
  '--lr': { key: 'lr', parse: (v) => { const x = Number(v); if (!(x > 0)) throw new Error(`--lr: expected a positive number, received '${v}'`); return x; } },
  '--threads': { key: 'threads', parse: (v) => posInt('--threads', v) },
  '--seed': { key: 'seed', parse: (v) => posInt('--seed', v, 0) },
};

function posInt(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, received '${v}'`);
  return n;
}

/** Parses the demo's command line. */
export function parseArgs(argv: string[]): DemoOptions {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const spec = FLAGS[flag];
    if (!spec) throw new Error(`demo: unknown option '${argv[i]}'; valid options are ${Object.keys(FLAGS).join(', ')}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`demo: option ${flag} needs a value`);
    out[spec.key] = spec.parse(v);
  }
  return out as DemoOptions;
}

