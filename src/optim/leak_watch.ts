/**
 * The common memory mistake made visible: tensors made in a training step and never disposed
 * (no `tidy`) are freed only by the GC backstop (a FinalizationRegistry), which the JS engine
 * runs under JS heap pressure, not WASM memory pressure. Every optimizer step reports the
 * live-tensor count here; when it has grown at every one of the last `LEAK_WATCH_STEPS` steps,
 * by at least `LEAK_WATCH_PER_STEP` tensors per step on average and `LEAK_WATCH_MIN_GROWTH` in
 * all, one warning names `tidy()`. Normal loops stay quiet: a tidied step returns to the same
 * count, optimizer state is made once, and keeping one value per step (a loss history) grows
 * too slowly.
 */
import { memory } from '../tensor.js';
import { fmtBytes } from '../utils/format.js';

/** Consecutive growing steps before the warning. */
export const LEAK_WATCH_STEPS = 50;
/** Tensors gained per growing step, on average, before the warning. */
export const LEAK_WATCH_PER_STEP = 2;
/** Tensors gained over those steps before the warning. */
export const LEAK_WATCH_MIN_GROWTH = 200;

let last = -1;
let growing = 0;
let grown = 0;
let warned = false;

/** Called after each optimizer step (any optimizer instance: the count is process-wide). */
export function watchStep(where: string): void {
  if (warned) return;
  const { numTensors, numBytes } = memory();
  if (last >= 0 && numTensors > last) {
    growing++;
    grown += numTensors - last;
  } else {
    growing = 0;
    grown = 0;
  }
  last = numTensors;
  if (growing >= LEAK_WATCH_STEPS && grown >= LEAK_WATCH_MIN_GROWTH && grown >= LEAK_WATCH_PER_STEP * growing) {
    warned = true;
    console.warn(`tsdeq: ${where}: the number of live tensors grew at each of the last ${growing} optimizer steps `
      + `(+${grown}, now ${numTensors} tensors holding ${fmtBytes(numBytes)}). Tensors made in a training step are not `
      + 'released: wrap the step in tidy(async () => { ... }) or dispose() what you keep (the GC backstop does not see '
      + 'WebAssembly memory pressure). This warning is shown once.');
  }
}

/** Internal (tests): forget what was seen, so the warning can fire again. */
export function resetLeakWatch(): void {
  last = -1;
  growing = 0;
  grown = 0;
  warned = false;
}
