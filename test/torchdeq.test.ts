/**
 * The `torchdeq` namespace (TorchDEQ's names and keyword arguments over the camelCase API):
 * - TorchDEQ's README example ported line by line (add_deq_args -> get_deq -> deq(fn, (a0, b0, c0)));
 * - every run of an oracle case through `torchdeq.get_deq(run's TorchDEQ kwargs)`, against
 *   TorchDEQ's numbers and the camelCase path;
 * - backward_factory's snake_case arguments (b_solver as a name, a TorchDEQ-style function or
 *   None, b_solver_kwargs, sup_loc None, ignored extras) against `backwardFactory`;
 * - deq-zoo's deq-inr (DEQINR with the Fourier filter) ported line by line, trained a few steps
 *   with `f_max_iter: 0` after the first, against the same model on the camelCase API;
 * - the norm, loss, solver and utility functions by their TorchDEQ names.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { nn, optim, tensor, torchdeq, getDeq, backwardFactory, type Tensor } from '../src/index.js';
import { loadCase, zInit, flat } from './helpers/oracle.js';
import { gradSetup, oracleLoss, relErr } from './helpers/grad_runs.js';

const f64 = { dtype: 'float64' } as const;
const flatOf = (t: Tensor): number[] => Array.from(t.dataSync());

describe('torchdeq: TorchDEQ README example, line by line', () => {
  it('add_deq_args -> get_deq(args) -> deq(fn, (a0, b0, c0)) equals the camelCase path', async () => {
    const W = tensor([[0.3, -0.2, 0.1], [0.05, 0.2, -0.1], [0.1, 0.1, 0.25]], undefined, { ...f64, requiresGrad: true });
    const run = async (deq: T.DEQBase): Promise<{ outs: number[][]; grad: number[] }> => {
      W.grad = null;
      // def fn(a, b, c): ... return a, b, c   (same shapes in and out)
      const fn = ([a, b, c]: Tensor[]): Tensor[] => [a.matmul(W).add(c.mul(0.5)).tanh(), b.mul(0.5).add(a.mean()).tanh(), c.matmul(W.transpose()).add(1).tanh()];
      const a0 = T.zeros([2, 3], f64), b0 = T.zeros([2, 4], f64), c0 = T.zeros([2, 3], f64);
      const { zOut: z_out } = await deq.forward(fn, [a0, b0, c0]); // z_out, info = deq(fn, (a0, b0, c0))
      const last = z_out[z_out.length - 1];
      await last[0].sum().add(last[1].sum()).add(last[2].sum()).backward();
      return { outs: last.map(flatOf), grad: flatOf(W.grad!) };
    };
    // parser = argparse.ArgumentParser(); add_deq_args(parser); args = parser.parse_args([...])
    const args = torchdeq.add_deq_args({ f_solver: 'anderson', f_max_iter: 40, f_tol: 1e-12, ift: true, b_tol: 1e-12, b_max_iter: 80, lr: 1e-3, epochs: 10 });
    expect(args.norm_type).toBe('weight_norm');
    expect(args.grad).toEqual([1]);
    const deq = torchdeq.get_deq(args); // deq = get_deq(args)
    const ours = await run(deq);
    const camel = await run(getDeq({ fSolver: 'anderson', fMaxIter: 40, fTol: 1e-12, ift: true, bTol: 1e-12, bMaxIter: 80 }));
    expect(ours).toEqual(camel);
    expect(deq).toBeInstanceOf(nn.Module);
  });
});

describe('torchdeq.get_deq over an oracle case', () => {
  const c = loadCase('tanh8_anderson_abs');
  for (const run of c.runs.filter((r) => !r.error)) {
    it(`run ${run.name}: TorchDEQ's kwargs as they are`, async () => {
      const go = async (deq: T.DEQBase): Promise<{ outs: number[][]; grads: Record<string, number[]> }> => {
        const s = gradSetup(c);
        const { zOut } = await deq.forward(s.f, zInit(c));
        const w = run.loss_weights ?? zOut.map(() => 1);
        await oracleLoss(zOut, s.c, w.length === zOut.length ? w : zOut.map((_, i) => 0.8 ** (zOut.length - 1 - i))).backward();
        return { outs: zOut.map(flatOf), grads: s.grads() };
      };
      const ours = await go(torchdeq.get_deq(run.get_deq_kwargs as Record<string, unknown>));
      const camel = await go(getDeq(T.fromTorchDEQArgs(run.get_deq_kwargs as Record<string, unknown>)));
      expect(ours).toEqual(camel);
      if (run.outputs && run.outputs.length === ours.outs.length) {
        ours.outs.forEach((o, i) => expect(relErr(o, flat(run.outputs![i]))).toBeLessThan(1e-8));
        for (const [k, g] of Object.entries(run.grads ?? {})) expect(relErr(ours.grads[k], flat(g as never)), k).toBeLessThan(1e-7);
      }
    });
  }

  it('get_deq takes a whole argparse dict, ignores foreign keys, catches near misses', () => {
    const deq = torchdeq.get_deq({ ...torchdeq.add_deq_args(), batch_size: 64, f_max_iter: 12 }, { core: 'indexing', n_states: 2 });
    expect(deq.options.fMaxIter).toBe(12);
    expect(deq).toBeInstanceOf(T.DEQIndexing);
    expect(deq.samplePlan).toEqual([6, 12]);
    expect(() => torchdeq.get_deq({ f_max_iters: 3 })).toThrow(/torchdeq\.get_deq: unknown argument 'f_max_iters'; did you mean 'f_max_iter'\?/);
    expect(() => torchdeq.get_deq({ fMaxIter: 3 })).toThrow(/did you mean 'f_max_iter'\?/);
    expect(() => torchdeq.get_deq({ f_max_iter: -2 })).toThrow(/fMaxIter/);
    expect(torchdeq.get_deq({ f_solver: null, f_max_iter: 0 }).options.fMaxIter).toBe(0);
  });
});

describe('torchdeq.backward_factory', () => {
  const W = tensor([[0.2, -0.1], [0.05, 0.3]], undefined, { ...f64, requiresGrad: true });
  const f = (z: Tensor): Tensor => z.matmul(W).add(1).tanh();
  const zStar = async (): Promise<Tensor> => (await T.getSolver('anderson')((z: Tensor) => T.noGrad(() => f(z)), T.zeros([1, 2], f64), { maxIter: 60, tol: 1e-13 })).z;
  const gradOf = async (produce: T.GradFunctor): Promise<{ outs: number[][]; g: number[] }> => {
    W.grad = null;
    const outs = await produce(undefined, f, await zStar());
    let L = outs[0].sum();
    for (const o of outs.slice(1)) L = L.add(o.sum());
    await L.backward();
    return { outs: outs.map(flatOf), g: flatOf(W.grad!) };
  };

  it('maps every TorchDEQ argument onto backwardFactory', async () => {
    const pairs: [Record<string, unknown>, T.BackwardFactoryOptions][] = [
      [{}, {}],
      [{ grad_type: 'ift', b_solver: 'anderson', b_solver_kwargs: { max_iter: 50, tol: 1e-12, stop_mode: 'rel', m: 4 } },
        { bSolver: 'anderson', bSolverKwargs: { maxIter: 50, tol: 1e-12, stopMode: 'rel', m: 4 } }],
      [{ grad_type: 'ift', hook_ift: true, b_solver: null, b_solver_kwargs: { max_iter: 30 } }, { hookIft: true, bSolverKwargs: { maxIter: 30 } }],
      [{ grad_type: 5, tau: 0.5, sup_gap: 2, sup_loc: null }, { gradType: 5, tau: 0.5, supGap: 2 }],
      [{ grad_type: 4, sup_loc: [1, 3], f_max_iter: 30, core: 'sliced' /* extra kwargs: ignored, as TorchDEQ */ }, { gradType: 4, supLoc: [1, 3] }],
    ];
    for (const [snake, camel] of pairs) {
      expect(await gradOf(torchdeq.backward_factory(snake))).toEqual(await gradOf(backwardFactory(camel)));
    }
  });

  it('b_solver may be a TorchDEQ-style solver function (e.g. torchdeq.anderson_solver)', async () => {
    let calls = 0;
    const mine: torchdeq.TorchSolver = (func, x0, kwargs) => { calls++; return torchdeq.anderson_solver(func, x0, kwargs); };
    const a = await gradOf(torchdeq.backward_factory({ b_solver: mine, b_solver_kwargs: { max_iter: 50, tol: 1e-12 } }));
    expect(calls).toBe(1);
    const b = await gradOf(backwardFactory({ bSolver: 'anderson', bSolverKwargs: { maxIter: 50, tol: 1e-12 } }));
    expect(a).toEqual(b);
  });

  it('checks b_solver_kwargs and the values', () => {
    expect(() => torchdeq.backward_factory({ b_solver_kwargs: { max_iters: 3 } })).toThrow(/b_solver_kwargs.*unknown option 'max_iters'.*did you mean 'max_iter'\?/);
    expect(() => torchdeq.backward_factory({ grad_type: 0 })).toThrow(/gradType/);
    expect(() => torchdeq.backward_factory({ b_solver: 'newton' })).toThrow(/unknown solver "newton"/);
  });
});

describe('torchdeq solvers, norms, losses and utilities', () => {
  it('solvers by TorchDEQ names return [z, indexing_list, info] with TorchDEQ keys; get_solver/register_solver', async () => {
    const f = (z: Tensor): Tensor => z.cos();
    const [z, traj, info] = await torchdeq.anderson_solver(f, T.zeros([1, 1], f64), { max_iter: 40, tol: 1e-12, indexing: [3] });
    expect(z.item()).toBeCloseTo(0.7390851332151607, 6); // anderson's ridge (lam 1e-4) limits it near 1e-7
    expect(traj.length).toBe(1);
    expect(Object.keys(info).sort()).toEqual(['abs_lowest', 'abs_trace', 'nstep', 'rel_lowest', 'rel_trace', 'sradius']);
    const [z2] = await torchdeq.get_solver('broyden')(f, T.zeros([1, 1], f64), { max_iter: 40, tol: 1e-12, LBFGS_thres: 10 });
    expect(z2.item()).toBeCloseTo(0.7390851332151607, 10);
    const [z3] = await torchdeq.fixed_point_iter(f, T.zeros([1, 1], f64), { max_iter: 200, tol: 1e-12 });
    const [z4] = await torchdeq.simple_fixed_point_iter(f, T.zeros([1, 1], f64), { max_iter: 200 });
    expect(z3.item()).toBeCloseTo(z4.item(), 10);
    let used = 0;
    torchdeq.register_solver('my_damped', async (func: (z: Tensor) => Tensor, x0: Tensor, kw?: Record<string, unknown>) => {
      used++;
      return torchdeq.fixed_point_iter(func, x0, { ...kw, tau: 0.7 });
    });
    const deq = torchdeq.get_deq({ f_solver: 'my_damped', f_max_iter: 80, f_tol: 1e-12 }).eval();
    const { zOut, info: inf } = await deq.forward(f, T.zeros([1, 1], f64));
    expect(used).toBe(1);
    expect(zOut[0].item()).toBeCloseTo(0.7390851332151607, 10);
    expect(inf.nstep.shape).toEqual([1]);
    expect(() => torchdeq.get_solver('newton')).toThrow(/unknown solver "newton"/);
    const zz = tensor([[3, 4], [0, 1]], undefined, f64), fzz = tensor([[0, 0], [0, 2]], undefined, f64);
    const st = torchdeq.solver_stat_from_final_step(zz, fzz, 7);
    expect(flatOf(st.abs_lowest)).toEqual([5, 1]);
    expect(st.rel_lowest.dataSync()[0]).toBeCloseTo(5 / 1e-8, 0);
    expect(st.rel_lowest.dataSync()[1]).toBeCloseTo(1 / (2 + 1e-8), 12);
    expect(st.abs_trace.shape).toEqual([2, 1]);
    expect(flatOf(st.nstep)).toEqual([7, 7]);
    const multi = torchdeq.solver_stat_from_final_step([zz, zz.reshape([2, 1, 2])], [fzz, fzz.reshape([2, 1, 2])]);
    const sq = flatOf(multi.abs_lowest).map((v) => v * v);
    expect(sq[0]).toBeCloseTo(50, 10);
    expect(sq[1]).toBeCloseTo(2, 10);
    await expect(torchdeq.anderson_solver(f, T.zeros([1, 1], f64), { max_iters: 3 })).rejects.toThrow(/did you mean 'max_iter'\?/);
  });

  it('apply_norm(model, args=...) with TorchDEQ priority, reset_norm, remove_norm, register_norm_module', () => {
    const mk = (): nn.Sequential => new nn.Sequential(new nn.Linear(3, 4, { seed: 0, ...f64 }), new nn.Tanh(), new nn.Linear(4, 2, { seed: 1, ...f64 }));
    const m = mk();
    T.manualSeed(5); // spectral norm's start vectors come from the global generator
    const done = torchdeq.apply_norm(m, { args: { ...torchdeq.add_deq_args({ norm_type: 'spectral_norm', norm_no_scale: true, sn_n_power_iters: 3 }), lr: 0.1 }, filter_out: '2', learn_scale: true });
    expect(done).toEqual(['0']);
    expect(Object.keys(m.stateDict())).toEqual(['0.bias', '0.weight_orig', '0.weight_u', '0.weight_v', '2.weight', '2.bias']); // norm_no_scale wins
    const camel = mk();
    T.manualSeed(5);
    T.applyNorm(camel, { normType: 'spectral_norm', learnScale: false, nPowerIterations: 3, filterOut: '2' });
    const x = tensor([[1, 2, 3]], undefined, f64);
    expect(flatOf(m.forward(x))).toEqual(flatOf(camel.forward(x)));
    torchdeq.reset_norm(m);
    torchdeq.remove_norm(m);
    expect(Object.keys(m.stateDict())).toEqual(['0.bias', '0.weight', '2.weight', '2.bias']);
    const w = mk();
    expect(torchdeq.apply_norm(w, 'weight_norm', { prefix_filter_out: ['2'], target_norm: 2, learn_scale: false })).toEqual(['0']);
    expect(torchdeq.apply_norm(mk(), { args: { norm_type: 'none' } })).toEqual([]);
    expect(() => torchdeq.apply_norm(mk(), { learn_scales: true } as never)).toThrow(/did you mean 'learn_scale'\?/);
    expect(() => torchdeq.apply_norm(mk(), { args: { norm_typ: 'x' } })).toThrow(/did you mean 'norm_type'\?/);
  });

  it('jac_reg, power_method, fp_correction, register_weight_func, mixed_init, mem_gc, dropout by TorchDEQ names', async () => {
    const z = T.randn([4, 6], { seed: 3, ...f64 }).requireGrad();
    const a = await torchdeq.jac_reg(z.mul(0.5), z, 4);
    const b = await T.jacReg(z.mul(0.5), z, { vecs: 4 });
    expect(Number.isFinite(a.item()) && Number.isFinite(b.item())).toBe(true);
    const z2 = tensor([[0.3, 0.1]], undefined, f64).requireGrad();
    const Wm = tensor([[-2, 1], [0, 0.5]], undefined, f64);
    const [v, rho] = await torchdeq.power_method(z2.matmul(Wm.transpose()), z2, 60);
    expect(v.shape).toEqual([1, 2]);
    expect(rho.item()).toBeCloseTo(2, 6);
    const traj = [tensor([0, 0], undefined, f64), tensor([0.5, 1], undefined, f64), tensor([1, 1], undefined, f64)];
    const target = tensor([1, 1], undefined, f64);
    const crit = (p: Tensor, q: Tensor): Tensor => p.sub(q).square().mean();
    expect((torchdeq.fp_correction(crit, [traj, target], { weight_func: 'const' }) as Tensor).item()).toBeCloseTo(1.125, 12);
    expect((torchdeq.fp_correction(crit, [traj, target], { gamma: 0.5 }) as Tensor).item()).toBeCloseTo(0.25 * 1 + 0.5 * 0.125, 12);
    const [loss, values] = await (torchdeq.fp_correction(crit, [traj, target], { return_loss_values: true }) as Promise<[Tensor, number[]]>);
    expect(values).toEqual([1, 0.125, 0]);
    expect(loss.item()).toBeCloseTo(0.64 * 1 + 0.8 * 0.125, 12);
    torchdeq.register_weight_func('half', () => 0.5);
    expect((torchdeq.fp_correction(crit, [traj, target], { weight_func: 'half' }) as Tensor).item()).toBeCloseTo(0.5625, 12);
    expect(torchdeq.mixed_init([2, 3], 'js').shape).toEqual([2, 3]);
    expect(() => torchdeq.mixed_init([2], 'cuda')).toThrow(/unknown device 'cuda'/);
    const fc = new nn.Linear(2, 2, { seed: 0, ...f64 });
    const xin = tensor([[1, 2]], undefined, f64);
    expect(flatOf(torchdeq.mem_gc(fc, [xin]))).toEqual(flatOf(fc.forward(xin)));
    const drop = new torchdeq.VariationalDropout1d(0.5, false, { seed: 1 });
    expect(drop.tokenFirst).toBe(false);
    torchdeq.reset_dropout(drop);
    expect(typeof torchdeq.reset_deq).toBe('function');
  });
});

/**
 * deq-zoo's deq-inr, `modules/models.py` DEQINR with the Fourier filter (`modules/layer.py` MFN,
 * `modules/injection.py` FourierInjection), ported line by line on the torchdeq names; `camel`
 * builds the same model on the camelCase API.
 */
class FourierInjection extends nn.Module<[Tensor], Tensor[]> {
  readonly nLayers: number;
  readonly x_map: nn.Linear;
  constructor(in_channels: number, interm_channels: number, scale: number, n_layers: number, seed: number) {
    super();
    this.nLayers = n_layers;
    this.x_map = this.registerModule('x_map', new nn.Linear(in_channels, interm_channels * n_layers, { seed, ...f64 }));
    const w = this.x_map.tensor('weight');
    nn.init.constant_(w, 0); // self.x_map.weight.data *= scale  (the in-place product, through init fillers)
    nn.init.uniform_(w, -scale / Math.sqrt(in_channels), scale / Math.sqrt(in_channels), { seed });
    nn.init.uniform_(this.x_map.tensor('bias'), -Math.PI, Math.PI, { seed: seed + 1 }); // bias.uniform_(-pi, pi)
  }
  forward(x: Tensor): Tensor[] {
    return this.x_map.forward(x).sin().chunk(this.nLayers, -1); // torch.sin(self.x_map(x)).chunk(n_layers, dim=-1)
  }
}

class MFN extends nn.Module<[Tensor, Tensor[]], Tensor> {
  readonly layers: nn.ModuleList;
  constructor(interm_channels: number, n_layers: number, seed: number) {
    super();
    this.layers = this.registerModule('layers', new nn.ModuleList(Array.from({ length: n_layers }, (_, i) => {
      const z_map = new nn.Linear(interm_channels, interm_channels, { seed: seed + i, ...f64 });
      nn.init.uniform_(z_map.tensor('weight'), -Math.sqrt(1 / interm_channels), Math.sqrt(1 / interm_channels), { seed: seed + 10 + i });
      return z_map;
    })));
    this.registerBuffer('z_init', T.ones([1, interm_channels], f64)); // fourier: ones
  }
  forward(z: Tensor, u: Tensor[]): Tensor {
    z = z.add(u[0].mul(this.tensor('z_init'))); // z = z + filter(z_init, u[0]),  filter = u * z
    this.layers.children().forEach((layer, i) => { z = u[i + 1].mul(layer.forward(z)); }); // z = filter(z_map(z), u[i+1])
    return z;
  }
}

class DEQINR extends nn.Module<[Tensor, Tensor | null, boolean], Promise<{ output: Tensor; imp_layer_output: Tensor; forward_steps: number }>> {
  readonly injection: FourierInjection;
  readonly f: MFN;
  readonly output_map: nn.Linear;
  readonly deq: T.DEQBase;
  readonly interm_channels: number;
  readonly camel: boolean;
  constructor(args: Record<string, unknown>, in_channels: number, interm_channels: number, output_channels: number, camel: boolean) {
    super();
    const n_layers = 1, input_scale = 4;
    this.camel = camel;
    this.injection = this.registerModule('injection', new FourierInjection(in_channels, interm_channels, input_scale / Math.sqrt(n_layers + 1), n_layers + 1, 1));
    this.f = this.registerModule('f', new MFN(interm_channels, n_layers, 20));
    this.output_map = this.registerModule('output_map', new nn.Linear(interm_channels, output_channels, { seed: 30, ...f64 }));
    if (camel) {
      T.applyNorm(this.f, { normType: 'weight_norm' });
      this.deq = this.registerModule('deq', getDeq(T.fromTorchDEQArgs(Object.fromEntries(Object.entries(args).filter(([k]) => k in T.TORCHDEQ_ARG_NAMES)))));
    } else {
      torchdeq.apply_norm(this.f, { args }); // apply_norm(self.f, args=args)
      this.deq = this.registerModule('deq', torchdeq.get_deq(args)); // self.deq = get_deq(args)
    }
    this.interm_channels = interm_channels;
  }
  async forward(x: Tensor, z: Tensor | null = null, skip_solver = false) {
    if (z === null) z = T.zeros([...x.shape.slice(0, -1), this.interm_channels], f64);
    const u = this.injection.forward(x);
    if (this.camel) T.resetNorm(this.f); else torchdeq.reset_norm(this.f);
    const func = (q: Tensor): Tensor => this.f.forward(q, u);
    const solverKwargs = skip_solver ? { fMaxIter: 0 } : {}; // {'f_max_iter': 0} if skip_solver else {}
    const { zOut: z_out, info } = await this.deq.forward(func, z, { solverKwargs });
    const z_pred = z_out[z_out.length - 1];
    const outputs = z_out.map((zp) => this.output_map.forward(zp));
    return { output: outputs[outputs.length - 1], imp_layer_output: z_pred, forward_steps: info.nstep.mean().item() };
  }
}

describe('torchdeq: deq-zoo deq-inr ported line by line', () => {
  it('trains with the first step solved and f_max_iter 0 after (as train_2d_image.py), equal to the camelCase model', async () => {
    const args = torchdeq.add_deq_args({ f_solver: 'anderson', f_max_iter: 20, f_tol: 1e-9, ift: false, grad: [1], norm_type: 'weight_norm', lr: 1e-3 });
    const coords = tensor(Array.from({ length: 16 * 2 }, (_, i) => ((i * 7) % 16) / 8 - 1), [16, 2], f64);
    const target = coords.slice([0, 0], [16, 1]).mul(3).sin().mul(coords.slice([0, 1], [16, 1]).mul(2).cos());
    const train = async (camel: boolean): Promise<{ losses: number[]; steps: number[]; params: number[][] }> => {
      const model = new DEQINR(args, 2, 16, 1, camel);
      const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
      const losses: number[] = [], steps: number[] = [];
      let z: Tensor | null = null;
      for (let it = 0; it < 6; it++) {
        const r = await model.forward(coords, z, it > 0); // skip_solver after the first step, from the last z
        const loss = r.output.sub(target).square().mean();
        await loss.backward();
        opt.step();
        opt.zeroGrad();
        losses.push(loss.item());
        steps.push(r.forward_steps);
        z = r.imp_layer_output.detach();
      }
      return { losses, steps, params: model.parameters().map(flatOf) };
    };
    const ported = await train(false);
    const camel = await train(true);
    expect(ported).toEqual(camel);
    expect(ported.steps[0]).toBeGreaterThan(1); // the first step solves
    expect(ported.steps.slice(1).every((s) => s === 0)).toBe(true); // f_max_iter 0 after: no solver steps
    expect(ported.losses[5]).toBeLessThan(ported.losses[0]);
  });
});
