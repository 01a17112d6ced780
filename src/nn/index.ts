/**
 * The `nn` namespace: modules, layers and initialisers.
 */
export { Module, type AnyModule, type StateDict, type LoadStateDictOptions, type LoadStateDictResult, type ParameterOptions, type BufferOptions } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Conv2d, type Conv2dLayerOptions } from './conv.js';
export { LayerNorm, GroupNorm, type LayerNormOptions, type GroupNormOptions } from './norm.js';
export { Dropout } from './dropout.js';
export { Sequential, ModuleList } from './sequential.js';
export { Tanh, ReLU, GELU, Sigmoid, Identity } from './activation.js';
export * as init from './init_all.js';
