// A page that imports only what one DEQ training step needs without the nn/optim toolkits: init,
// getDeq, tensor creation and ops, and a plain SGD update of the weights through their gradients.
import { init, getDeq, randn, tanh, add, linear, sum, zeros, noGrad } from 'tsdeq';

const info = await init();
const W = randn([64, 64], { seed: 1 }).mul(0.05).detach().requireGrad();
const U = randn([64, 784], { seed: 2 }).mul(0.03).detach().requireGrad();
const x = randn([32, 784], { seed: 3 });
const deq = getDeq({ fSolver: 'anderson', fMaxIter: 12, fTol: 1e-3, ift: true, bMaxIter: 12 });
const u = linear(x, U);
const { zOut } = await deq.forward((z) => tanh(add(linear(z, W), u)), zeros([32, 64]));
const loss = sum(zOut[0].square());
await loss.backward();
noGrad(() => { for (const p of [W, U]) p.backend.axpby(-1e-3, p.grad.storage, 1, p.storage, p.storage); });
globalThis.__result = { loss: loss.item(), backend: info.backend, variant: info.variant };
