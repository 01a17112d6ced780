/**
 * The device-side solver kernels of webgpu against the js reference on awkward sizes:
 * Backend.trackStep over a sequence of steps (NaN, infinite, zero and tied residuals, both stop
 * modes, returnFinal, divergence, Broyden's no-progress test, the freeze after a stop) and
 * Backend.andersonMix (bordered solves batched over samples, damping) with float32 inputs.
 */
import { describe, expect, it } from 'vitest';
import { JsBackend } from '../src/backend/js.js';
import { TRACK_FIELDS, TRACK_GLOBALS, type Backend, type Storage, type TrackSpec } from '../src/backend/backend.js';
import { SENTINEL } from '../src/solvers/tracker.js';
import { WEBGPU } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const js = new JsBackend();

function put(be: Backend, v: ArrayLike<number>): Storage {
  const s = be.alloc(v.length, 'float32');
  be.write(s, v);
  return s;
}

/** Float32 values as stored (so js and webgpu start from identical inputs). */
const f32 = (v: number[]): number[] => Array.from(Float32Array.from(v));

run('webgpu solver kernels vs js', () => {
  for (const [B, D] of [[1, 1], [3, 17], [17, 3], [33, 100], [100, 1]]) {
    for (const [mode, rf, stall] of [[0, false, 0], [1, false, 0], [0, true, 0], [0, false, 3]] as const) {
      it(`trackStep B=${B} D=${D} mode=${mode} returnFinal=${rf} stall=${stall}`, async () => {
        const u = prng(B * 100 + D + mode * 7 + (rf ? 3 : 0) + stall);
        const width = 9;
        const st0 = new Float64Array(TRACK_FIELDS * B + TRACK_GLOBALS);
        st0.fill(SENTINEL, 0, 2 * B);
        st0.fill(NaN, 4 * B, 5 * B);
        const tr0 = new Array<number>(2 * B * width).fill(SENTINEL);
        const best0 = f32(Array.from({ length: B * D }, () => u()));
        const sides = [js, WEBGPU!].map((be) => ({ be, st: put(be, st0), tr: put(be, tr0), best: put(be, best0) }));
        for (let col = 1; col < width; col++) {
          const norms = f32(Array.from({ length: 2 * B }, (_, i) => {
            // The no-progress cases get finite residuals only (a NaN disables that test).
            const x = stall > 0 ? 1 : u();
            if (i < B && x < 0.05) return NaN;
            if (i < B && x < 0.08) return Infinity;
            if (i < B && x < 0.12) return 0;
            return i < B ? Math.exp(-col * (0.5 + u())) * 3 : 1 + u();
          }));
          const cand = f32(Array.from({ length: B * D }, () => u() - 0.5));
          const spec: TrackSpec = {
            B, D, width, col, step: col + 1, eps: 1e-9, tol: 1e-2, stopMode: mode, returnFinal: rf,
            divergence: 50, stallSteps: stall, stallRatio: 1e9, stallTol: 1e9,
          };
          for (const s of sides) {
            const n = put(s.be, norms), c = put(s.be, cand);
            s.be.trackStep(n, s.st, s.tr, c, s.best, { ...spec });
            s.be.free(n);
            s.be.free(c);
          }
          const [a, b] = sides;
          const tol = { rtol: 1e-6, atol: 0 };
          assertClose(await b.be.readAsync(b.st), a.be.readSync(a.st), tol, `state after column ${col}`);
          assertClose(await b.be.readAsync(b.tr), a.be.readSync(a.tr), tol, `trace after column ${col}`);
          assertClose(await b.be.readAsync(b.best), a.be.readSync(a.best), { rtol: 0, atol: 0 }, `best after column ${col}`);
        }
        const stopped = js.readSync(sides[0].st)[TRACK_FIELDS * B];
        if (stall > 0) expect(stopped).toBe(1);
        for (const s of sides) { s.be.free(s.st); s.be.free(s.tr); s.be.free(s.best); }
      });
    }
  }

  for (const [B, D, m, n, tau] of [[1, 1, 2, 2, 1], [3, 17, 5, 3, 0.7], [17, 33, 3, 3, 1], [4, 100, 6, 6, 0.5]]) {
    it(`andersonMix B=${B} D=${D} m=${m} n=${n} tau=${tau}`, async () => {
      const u = prng(B + D + m + n);
      const G = Array.from({ length: B * m * D }, () => u() - 0.5);
      const gram = new Array<number>(B * m * m).fill(0);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < m; j++) {
            let acc = 0;
            for (let k = 0; k < D; k++) acc += G[(b * m + i) * D + k] * G[(b * m + j) * D + k];
            gram[(b * m + i) * m + j] = acc;
          }
        }
      }
      const F = f32(Array.from({ length: B * m * D }, () => u() - 0.5));
      const X = f32(Array.from({ length: B * m * D }, () => u() - 0.5));
      const outs = [];
      for (const be of [js, WEBGPU!] as Backend[]) {
        const g = put(be, f32(gram)), Fs = put(be, F), Xs = put(be, X), o = be.alloc(B * D, 'float32');
        expect(be.andersonMix!(g, Fs, Xs, o, n, 1e-3, tau, B, m, D, n - 1)).toBe(0);
        outs.push(await be.readAsync(o));
        for (const s of [g, Fs, Xs, o]) be.free(s);
      }
      assertClose(outs[1], outs[0], { rtol: 2e-3, atol: 2e-4 }, 'mixed state');
    });
  }

  // Broyden's fused step: four dispatches on webgpu against the js composition.
  for (const [B, D] of [[1, 1], [3, 17], [17, 3], [33, 100], [100, 1]]) {
    it(`broydenStep B=${B} D=${D} (filling, wrapped, non-finite entries)`, async () => {
      for (const [mem, r, slot, direction] of [[1, 0, 0, true], [4, 0, 0, true], [4, 3, 3, true], [4, 4, 1, false], [5, 4, 4, true]] as const) {
        const u = prng(B * 31 + D + mem * 7 + r);
        const vec = (n: number, s = 1): number[] => f32(Array.from({ length: n }, () => (u() - 0.5) * 2 * s));
        const dx = vec(B * D), dg = vec(B * D), g = vec(B * D), d = vec(B * D);
        const U = vec(B * mem * D), V = vec(B * mem * D, 0.5);
        if (D >= 3) U[1] = Infinity; // sample 0's products overflow: its u and v are zeroed
        if (B >= 3) dg.fill(0, 2 * D, 3 * D); // sample 2: den = 0, u zeroed
        const outs: number[][][] = [];
        for (const be of [js, WEBGPU!] as Backend[]) {
          const st = [dx, dg, g, d, U, V].map((v) => put(be, v));
          be.broydenStep!(st[0], st[1], st[2], st[3], st[4], st[5], r, slot, direction, B, mem, D);
          outs.push(await Promise.all([st[3], st[4], st[5]].map(async (x) => Array.from(await be.readAsync(x)))));
          for (const x of st) be.free(x);
        }
        const what = `mem=${mem} r=${r} slot=${slot} direction=${direction}`;
        for (const [i, name] of ['d', 'U', 'V'].entries()) assertClose(outs[1][i], outs[0][i], { rtol: 1e-4, atol: 1e-5 }, `${name} ${what}`);
        if (!direction) expect(outs[1][0]).toEqual(d);
      }
    });
  }
});
