/**
 * `npm run demo`: trains a DEQ classifier on the MNIST digits on the WASM backend.
 * Options: --epochs N, --hidden N, --solver NAME, --grad ift|phantom, --save PATH,
 * --train N, --test N, --batch N, --lr X, --seed N, --threads N.
 */
import { init } from '../init.js';
import { runDemo, type DemoOptions } from './train.js';
import { parseArgs } from './main_args.js';
import { reporter } from './report.js';

async function main(): Promise<void> {
  let opts: DemoOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const info = await init();
  console.log(`backend: ${info.backend} (${info.variant})`);
  await runDemo({ ...opts, ...reporter(process.stdout) });
}

await main();
