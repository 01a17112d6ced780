#!/usr/bin/env python3
"""TorchDEQ's DEQ training step on a chosen torch device (CUDA on a GPU machine), float32.

The model and step of ../shared/oracle/bench_torchdeq.py (and of tsdeq's `deq_step` bench):
    inj = x @ U.T + b;  f(z) = tanh(z @ W.T + inj), W with spectral norm 0.9
    zero grads -> z_out, info = deq(f, zeros(B, d)) -> L = sum(z_out[-1] * c) -> L.backward()
anderson (m 6, lam 1e-4) 30 iterations, core 'sliced', tol 0 (every iteration runs), and the
gradient 'ift' (fixed_point_iter backward, 30 iterations) or 'pg_k5' (phantom, 5 steps, tau 0.5).
On CUDA every timed step is bracketed by torch.cuda.synchronize() (start, the forward/backward
split, end), so the time is the GPU's, not the launch queue's.

Usage: TORCHDEQ_SRC=<dir holding torchdeq/> python3 bench_torchdeq_cuda.py [--device cuda]
           [--sizes 256x64,1024x64,1024x4096] [--min-time 2] [--min-runs 10] [--out FILE]
Prints one line per configuration and writes the results as JSON to --out (if given).
"""
import argparse
import json
import os
import statistics
import sys
import time

F_MAX_ITER = 30
B_MAX_ITER = 30
W_NORM = 0.9
SEED = 0
GRAD_MODES = {
    "ift": dict(ift=True, hook_ift=False, b_solver="fixed_point_iter", b_max_iter=B_MAX_ITER),
    "pg_k5": dict(grad=5, tau=0.5),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--sizes", default="256x64,1024x64,1024x4096")
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--min-runs", type=int, default=10)
    ap.add_argument("--max-runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    src = os.environ.get("TORCHDEQ_SRC")
    if src:
        sys.path.insert(0, src)
    import torch
    from torchdeq import get_deq

    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("bench_torchdeq_cuda: --device cuda but torch.cuda.is_available() is False")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dt = torch.float32
    out = {"device": str(dev), "device_name": torch.cuda.get_device_name(dev) if cuda else "cpu",
           "torch": torch.__version__, "results": []}
    print(f"bench_torchdeq_cuda: torch {torch.__version__} on {out['device_name']}", flush=True)
    for s in args.sizes.split(","):
        d, B = (int(v) for v in s.split("x"))
        g = torch.Generator().manual_seed(SEED)
        W0 = torch.randn(d, d, generator=g, dtype=torch.float64)
        W0 = W0 * (W_NORM / torch.linalg.matrix_norm(W0, 2))
        W = W0.to(dt).to(dev).requires_grad_()
        U = (torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5).to(dt).to(dev).requires_grad_()
        b = (0.5 * torch.randn(d, generator=g, dtype=torch.float64)).to(dt).to(dev).requires_grad_()
        x = torch.randn(B, d, generator=g, dtype=torch.float64).to(dt).to(dev)
        c = torch.randn(B, d, generator=g, dtype=torch.float64).to(dt).to(dev)
        params = [W, U, b]
        for gname, gkw in GRAD_MODES.items():
            deq = get_deq(core="sliced", f_solver="anderson", f_max_iter=F_MAX_ITER, f_tol=0.0, f_stop_mode="rel",
                          b_tol=0.0, b_stop_mode="rel", **gkw)
            deq.train()

            def step(rec=None):
                for p in params:
                    p.grad = None
                sync()
                t0 = time.perf_counter()
                inj = x @ U.T + b
                z_out, _ = deq(lambda z: torch.tanh(z @ W.T + inj), torch.zeros(B, d, dtype=dt, device=dev))
                loss = (z_out[-1] * c).sum()
                sync()
                t1 = time.perf_counter()
                loss.backward()
                sync()
                t2 = time.perf_counter()
                if rec is not None:
                    rec.append((t2 - t0, t1 - t0, t2 - t1))

            for _ in range(args.warmup):
                step()
            rec = []
            t_start = time.perf_counter()
            while len(rec) < args.min_runs or (time.perf_counter() - t_start < args.min_time and len(rec) < args.max_runs):
                step(rec)
            res = {"d": d, "batch": B, "grad": gname, "n_runs": len(rec),
                   "median_ms": 1e3 * statistics.median(r[0] for r in rec),
                   "median_forward_ms": 1e3 * statistics.median(r[1] for r in rec),
                   "median_backward_ms": 1e3 * statistics.median(r[2] for r in rec),
                   "min_ms": 1e3 * min(r[0] for r in rec)}
            out["results"].append(res)
            print(f"torchdeq {out['device']} d={d:5d} B={B:5d} {gname:6s} median {res['median_ms']:9.3f} ms "
                  f"(fwd {res['median_forward_ms']:8.3f} / bwd {res['median_backward_ms']:8.3f}) runs={len(rec)}", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
