/**
 * Benchmark-only module (not part of the package's WASM): the ceilings the GEMM is compared
 * with. `peak_tile_f32` runs the shape of the GEMM's 4 x 8 register tile (8 accumulators, two B vectors
 * and four splatted A values loaded per step, c += a * b through `madd` from ../simd) on
 * operands that stay in a 4 KiB L1-resident buffer, so it measures arithmetic plus the tile's
 * own loads and no cache misses or packing. Built twice by `npm run build:bench` (baseline
 * SIMD: multiply then add; relaxed SIMD: fused multiply-add). `peak_chains_f32` is the bare
 * arithmetic rate: twelve independent multiply-add chains, no loads.
 */
import { madd } from '../simd';
// The project's asconfig.json wires the abort handler to assembly/runtime.ts (`use`), so the
// module must include it even though this benchmark never aborts.
import '../runtime';

const BUF_BYTES: usize = 4096;
let buf: usize = 0;

/** Runs `iters` steps of 8 f32x4 multiply-adds (64 flops per step); returns a checksum. */
export function peak_tile_f32(iters: i32): f32 {
  if (buf == 0) {
    buf = heap.alloc(BUF_BYTES);
    for (let i: usize = 0; i < BUF_BYTES; i += 4) store<f32>(buf + i, <f32>(1.0 + <f64>(i & 63) * 1e-3));
  }
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  let off: usize = 0;
  for (let i = 0; i < iters; i++) {
    const p = buf + off;
    const b0 = v128.load(p), b1 = v128.load(p, 16);
    let a = v128.load_splat<f32>(p, 32);
    c00 = madd<f32>(a, b0, c00); c01 = madd<f32>(a, b1, c01);
    a = v128.load_splat<f32>(p, 36);
    c10 = madd<f32>(a, b0, c10); c11 = madd<f32>(a, b1, c11);
    a = v128.load_splat<f32>(p, 40);
    c20 = madd<f32>(a, b0, c20); c21 = madd<f32>(a, b1, c21);
    a = v128.load_splat<f32>(p, 44);
    c30 = madd<f32>(a, b0, c30); c31 = madd<f32>(a, b1, c31);
    off = (off + 48) & (BUF_BYTES - 64);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Runs `iters` rounds of 12 independent f32x4 multiply-adds (96 flops per round); returns a checksum. */
export function peak_chains_f32(iters: i32): f32 {
  const a = f32x4.splat(0.9999999);
  const b = f32x4.splat(1e-7);
  let c0 = f32x4.splat(1.0), c1 = f32x4.splat(1.1), c2 = f32x4.splat(1.2), c3 = f32x4.splat(1.3);
  let c4 = f32x4.splat(1.4), c5 = f32x4.splat(1.5), c6 = f32x4.splat(1.6), c7 = f32x4.splat(1.7);
  let c8 = f32x4.splat(1.8), c9 = f32x4.splat(1.9), c10 = f32x4.splat(2.0), c11 = f32x4.splat(2.1);
  for (let i = 0; i < iters; i++) {
    c0 = madd<f32>(c0, a, b); c1 = madd<f32>(c1, a, b); c2 = madd<f32>(c2, a, b); c3 = madd<f32>(c3, a, b);
    c4 = madd<f32>(c4, a, b); c5 = madd<f32>(c5, a, b); c6 = madd<f32>(c6, a, b); c7 = madd<f32>(c7, a, b);
    c8 = madd<f32>(c8, a, b); c9 = madd<f32>(c9, a, b); c10 = madd<f32>(c10, a, b); c11 = madd<f32>(c11, a, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)),
    f32x4.add(f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)), f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
