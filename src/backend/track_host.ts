/**
 * The reference `trackStep` (Backend.trackStep) for backends that read synchronously (`js`,
 * `wasm`): plain loops over the state read back with `readSync`, written back with `write`,
 * and the improved rows copied with the backend's own `copy`. The arithmetic and the rules are
 * those of the host `Tracker` (src/solvers/tracker.ts), so a solve tracked on the device of a
 * CPU backend equals the host-tracked one; GPU kernels are tested against this.
 */
import {
  TRACK_DEAD, TRACK_FIELDS, TRACK_IMPROVED, TRACK_LOWEST_ABS, TRACK_LOWEST_REL, TRACK_REF, TRACK_STEP_ABS,
  TRACK_STEP_REL, type Backend, type Storage, type TrackSpec,
} from './backend.js';

const ALIVE = 0, NAN = 1, DIVERGED = 2;
const REF_FLOOR = 1e-8;

/** Backend.trackStep on a synchronously readable backend. */
export function trackStepHost(be: Backend, norms: Storage, state: Storage, trace: Storage, candidate: Storage,
  best: Storage, p: TrackSpec): void {
  const { B, D, width, col } = p;
  const st = be.readSync(state);
  const G = TRACK_FIELDS * B;
  const f = (field: number, b: number): number => field * B + b;
  if (st[G] !== 0) {
    st.fill(0, f(TRACK_IMPROVED, 0), f(TRACK_IMPROVED, 0) + B);
    be.write(state, st);
    return;
  }
  if (col < 1 || col >= width) throw new Error(`trackStep: column ${col} outside the trace of width ${width} (internal error)`);
  const nv = be.readSync(norms);
  const tr = be.readSync(trace);
  const rel0 = B * width;
  const byAbs = p.stopMode === 0;
  for (let b = 0; b < B; b++) {
    const a = nv[b], r = a / (nv[B + b] + p.eps);
    const la = st[f(TRACK_LOWEST_ABS, b)], lr = st[f(TRACK_LOWEST_REL, b)];
    const betterAbs = p.returnFinal || a < la;
    if (betterAbs) { st[f(TRACK_LOWEST_ABS, b)] = a; st[f(TRACK_STEP_ABS, b)] = p.step; }
    const betterRel = p.returnFinal || r < lr;
    if (betterRel) { st[f(TRACK_LOWEST_REL, b)] = r; st[f(TRACK_STEP_REL, b)] = p.step; }
    st[f(TRACK_IMPROVED, b)] = (byAbs ? betterAbs : betterRel) ? 1 : 0;
    tr[b * width + col] = a;
    tr[rel0 + b * width + col] = r;
    const pa = st[f(TRACK_LOWEST_ABS, b)], pr = st[f(TRACK_LOWEST_REL, b)];
    for (let c = col + 1; c < width; c++) { tr[b * width + c] = pa; tr[rel0 + b * width + c] = pr; }
    const ref = st[f(TRACK_REF, b)];
    if (st[f(TRACK_DEAD, b)] === ALIVE) {
      if (a !== a || r !== r) st[f(TRACK_DEAD, b)] = NAN;
      else if (a === Infinity || a > p.divergence * ref) st[f(TRACK_DEAD, b)] = DIVERGED;
    }
    if (ref !== ref) st[f(TRACK_REF, b)] = Math.max(a, REF_FLOOR * (nv[B + b] + 1));
    if (st[f(TRACK_IMPROVED, b)] === 1 && D > 0) be.copy(candidate, b * D, [1], best, b * D, [1], [D]);
  }
  // The batch-global stop test, then Broyden's no-progress test, on the column just written.
  const cur = (b: number): number => tr[(byAbs ? 0 : rel0) + b * width + col];
  let allDead = true, allPass = true;
  for (let b = 0; b < B; b++) {
    if (st[f(TRACK_DEAD, b)] !== ALIVE) continue;
    allDead = false;
    if (!(cur(b) < p.tol)) allPass = false;
  }
  let stop = allDead || (!p.returnFinal && allPass);
  if (!stop && p.stallSteps > 0 && p.step > p.stallSteps) stop = stalled(tr, byAbs ? 0 : rel0, B, width, col, p);
  st[G + 2] = col + 1;
  if (stop) { st[G] = 1; st[G + 1] = p.step; }
  be.write(state, st);
  be.write(trace, tr);
}

/** Tracker.currentMax < stallTol and Tracker.flatForLast(stallSteps, stallRatio) on columns up to `col`. */
function stalled(tr: ArrayLike<number>, base: number, B: number, width: number, col: number, p: TrackSpec): boolean {
  let mxLast = -Infinity;
  for (let b = 0; b < B; b++) {
    const v = tr[base + b * width + col];
    if (Number.isNaN(v)) return false;
    if (v > mxLast) mxLast = v;
  }
  if (!(mxLast < p.stallTol)) return false;
  return flatColumns((c, b) => tr[base + b * width + c], col + 1 - p.stallSteps, col + 1, B, p.stallRatio);
}

/**
 * Broyden's no-progress rule, shared by the host Tracker and this reference trackStep: in each
 * column c in [from, to), (max over the B samples of at(c, b)) / (min over them) < `ratio`;
 * a NaN anywhere means "no".
 */
export function flatColumns(at: (c: number, b: number) => number, from: number, to: number, B: number, ratio: number): boolean {
  let worst = -Infinity;
  for (let c = from; c < to; c++) {
    let mx = -Infinity, mn = Infinity;
    for (let b = 0; b < B; b++) {
      const v = at(c, b);
      if (Number.isNaN(v)) return false;
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    const q = mx / mn;
    if (Number.isNaN(q)) return false;
    if (q > worst) worst = q;
  }
  return worst < ratio;
}
