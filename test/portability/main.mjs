// Runs the smoke test against the bundled package and prints its report as one JSON line.
// Used by Node (`node main.mjs`) and Deno (`deno run --allow-read main.mjs`).
import * as T from '../../build/index.js';
import { smoke } from './smoke.mjs';

console.log(JSON.stringify(await smoke(T)));
