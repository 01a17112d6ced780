// The jax-js counterpart of deq_step.js: its WASM backend, one gradient step of a small MLP
// (matmul, tanh, log-softmax cross entropy) on a random batch.
import { init, numpy as np, grad, random, nn } from '@jax-js/jax';

await init();
const w1 = random.normal(random.key(1), [784, 64]).mul(0.05);
const w2 = random.normal(random.key(2), [64, 10]).mul(0.05);
const x = random.normal(random.key(3), [32, 784]);
const y = nn.oneHot(np.array(Array.from({ length: 32 }, (_, i) => i % 10), { dtype: 'int32' }), 10);
const lossFn = ([a, b]) => np.sum(np.multiply(nn.logSoftmax(np.matmul(np.tanh(np.matmul(x.ref, a)), b)), y.ref)).mul(-1 / 32);
const [g1, g2] = grad(lossFn)([w1.ref, w2.ref]);
const w1n = w1.sub(g1.mul(0.1));
globalThis.__result = { value: (await w1n.data())[0], shape: w2.sub(g2.mul(0.1)).shape };
