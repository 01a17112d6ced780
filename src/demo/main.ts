/**
 * `npm run demo`: trains a DEQ classifier on the MNIST digits on the WASM backend.
 * Options: --epochs N, --hidden N, --solver NAME, --grad ift|phantom, --save PATH,
 * --train N, --test N, --batch N, --lr X, --seed N, --threads N.
 */
import { init } from '../init.js';
import { runDemo, type DemoOptions } from './train.js';
import { parseArgs } from './main_args.js';

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
  const tty = process.stdout.isTTY;
  let last = 0;
  await runDemo({
    ...opts,
    log: (s) => { if (tty) process.stdout.write('\r\x1b[K'); console.log(s); },
    progress: (s) => {
      if (tty) { process.stdout.write(`\r\x1b[K${s}`); return; }
      const now = Date.now();
      if (now - last > 2000) { console.log(s); last = now; }
    },
  });
}

await main();
