/**
 * The subjects every kernel section compares, loaded once: tsdeq's wasm backend in its two
 * builds (baseline SIMD and relaxed SIMD, each on its own module instance) and tfjs-wasm
 * (the reference for speed-up ratios). A build the engine cannot run is left out with a note.
 */
import { createWasmBackend, detectFeatures, wasmBytes } from '../backend/wasm_loader.js';
import type { Subject } from './subjects.js';
import { backendSubject } from './tsdeq_subject.js';
import { tfjsSubject } from './tfjs_subject.js';
import { tfjsVersion } from './tfjs.js';

/** The loaded subjects, the one ratios are taken against, and notes for the tables. */
export interface Subjects {
  subjects: Subject[];
  reference: Subject | null;
  notes: string[];
}

let loaded: Promise<Subjects> | null = null;

async function load(): Promise<Subjects> {
  const features = detectFeatures();
  const subjects: Subject[] = [];
  const notes: string[] = [];
  if (!features.simd) throw new Error('bench: this engine has no WebAssembly SIMD; tsdeq wasm cannot run');
  subjects.push(backendSubject('tsdeq simd', await createWasmBackend(await wasmBytes('simd'), 'bench')));
  if (features.relaxed) {
    subjects.push(backendSubject('tsdeq relaxed', await createWasmBackend(await wasmBytes('relaxed'), 'bench')));
  } else {
    notes.push('tsdeq relaxed: not measured, this engine lacks relaxed SIMD (Node 20: run with --experimental-wasm-relaxed-simd).');
  }
  const tf = await tfjsSubject();
  subjects.push(tf);
  notes.push(`tfjs-wasm: @tensorflow/tfjs-backend-wasm ${tfjsVersion()}, single-threaded SIMD binary, tf.matMul / tf.add / tf.tanh.`);
  return { subjects, reference: tf, notes };
}

/**
 * Loads (once) and returns the benchmark subjects.
 * @example const { subjects } = await loadSubjects()
 */
export function loadSubjects(): Promise<Subjects> {
  loaded ??= load();
  return loaded;
}
