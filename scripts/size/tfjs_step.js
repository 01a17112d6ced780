// The tfjs counterpart of deq_step.js: tfjs-core with its WASM backend, one training step of a
// small MLP (matMul, tanh, softmax cross entropy, Adam) on a random batch.
import * as tf from '@tensorflow/tfjs-core';
// Gradients are registered separately in tfjs-core (tfjs-layers imports this for training).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

setWasmPaths(new URL('./tfjs/', location.href).href);
await tf.setBackend('wasm');
const w1 = tf.variable(tf.randomNormal([784, 64], 0, 0.05, 'float32', 0));
const w2 = tf.variable(tf.randomNormal([64, 10], 0, 0.05, 'float32', 1));
const x = tf.randomNormal([32, 784], 0, 1, 'float32', 3);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), 'int32'), 10);
const opt = tf.train.adam(1e-3);
const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.tanh(tf.matMul(x, w1)), w2)), true);
globalThis.__result = { loss: (await loss.data())[0], backend: tf.getBackend() };
