// A page that imports tsdeq, loads the WASM backend and runs one DEQ training step (the MNIST
// demo's model at width 64 on a random batch): Linear layers, getDeq with Anderson and IFT,
// layer norm, cross entropy, Adam; nn and optim imported as modules of their own ('tsdeq/nn',
// 'tsdeq/optim'), which lets esbuild drop the layers and optimizers the page does not use.
import { init, getDeq, randn, tanh, layerNorm, add, linear, crossEntropy, zeros } from 'tsdeq';
import * as nn from 'tsdeq/nn';
import * as optim from 'tsdeq/optim';

const info = await init();
const inj = new nn.Linear(784, 64, { seed: 0 });
const cell = new nn.Linear(64, 64, { bias: false, seed: 1 });
const head = new nn.Linear(64, 10, { seed: 2 });
const opt = new optim.Adam([...inj.parameters(), ...cell.parameters(), ...head.parameters()], { lr: 1e-3 });
const deq = getDeq({ fSolver: 'anderson', fMaxIter: 12, fTol: 1e-3, ift: true, bMaxIter: 12 });
const x = randn([32, 784], { seed: 3 });
const labels = Array.from({ length: 32 }, (_, i) => i % 10);
const u = inj.forward(x);
const f = (z) => tanh(layerNorm(add(linear(z, cell.weight), u), [64]));
const { zOut } = await deq.forward(f, zeros([32, 64]));
const loss = crossEntropy(head.forward(zOut[0]), labels);
await loss.backward();
opt.step();
globalThis.__result = { loss: loss.item(), backend: info.backend, variant: info.variant };
