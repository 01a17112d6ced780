/**
 * tsdeq: deep equilibrium (implicit) models for JavaScript.
 */
import './tensor_methods.js';

export { Tensor, memory, type NestedArray } from './tensor.js';
export type { DType, TypedArray } from './dtype.js';
export { tidy, keep } from './scope.js';
export { tensor, zeros, ones, full, zerosLike, onesLike, randn, rand, arange, eye, type CreateOptions, type RandomOptions } from './creation.js';
export { manualSeed } from './random.js';
export { setBackend, getBackend, listBackends, registerBackend } from './backend/registry.js';
export { init, type InitOptions, type InitInfo } from './init.js';
export { setThreads, getThreads, shutdownThreads } from './threads/settings.js';
export type { Backend, Storage, MatmulSpec, ConvSpec, UnaryOp, BinaryOp, ReduceOp } from './backend/backend.js';
export type { WasmBackend, WasmVariant } from './backend/wasm.js';
export type { WebGpuBackend, WebGpuAdapterInfo } from './backend/webgpu/backend.js';
export type { GpuSource, WebGpuInitInfo } from './backend/webgpu/setup.js';
export type { PackCache } from './backend/wasm_pack_cache.js';
export { noGrad, enableGrad, grad, backward, isGradEnabled, type BackwardOptions, type GradOptions } from './autograd/engine.js';
export { customFunction, vjp, type CustomContext, type CustomFunctionSpec, type Pullback } from './autograd/custom.js';
export { zeroGrad } from './autograd/util.js';
export { add, sub, mul, div, neg, pow, maximum, minimum, equal, notEqual, less, lessEqual, greater, greaterEqual, where } from './ops/arith.js';
export { sqrt, exp, log, abs, tanh, sigmoid, relu, gelu, softplus, square, sin, cos } from './ops/unary.js';
export { sum, mean, max, min, argmax, argmin, type ReduceOptions } from './ops/reduce.js';
export { reshape, flatten, squeeze, unsqueeze, permute, transpose, broadcastTo } from './ops/shape.js';
export { matmul, linear } from './ops/linalg.js';
export { addTanh, linearTanh, tanhBackward, scaledAdd } from './ops/fused.js';
export { cast, clone } from './ops/cast.js';
export { slice, sliceAxis, concat, stack, pad, type PadOptions } from './ops/index_ops.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { crossEntropy, mseLoss, type Reduction, type LossOptions, type CrossEntropyOptions } from './ops/loss.js';
export { layerNorm, groupNorm } from './ops/norm.js';
export { dropout, type DropoutOptions } from './ops/dropout.js';
export { conv2d, unfold, fold, type Conv2dOptions, type WindowOptions } from './ops/conv.js';
export type { TensorLike } from './ops/util.js';
export { jacReg, powerMethod, fpCorrection, registerWeightFunc, getWeightFunc, listWeightFuncs, correctionWeights, type JacRegOptions, type PowerMethodOptions, type PowerMethodResult, type FpCorrectionOptions, type WeightFunc, type WeightArgs } from './loss/index.js';
export { mixedInit, type MixedInitOptions } from './utils/mixed_init.js';
export { getSolver, registerSolver, listSolvers, fixedPointIter, simpleFixedPointIter, anderson, broyden, armijo, SOLVER_DEFAULTS, SOLVER_KEYS, type Solver, type SolverFunc, type SolverOptions, type SolverResult, type SolverState, type SolverStats, type SolveStatus, type StopMode } from './solvers/index.js';
export { gmres, GMRES_KEYS, GMRES_DEFAULT_RESTART, type GmresOptions } from './solvers/gmres.js';
export { backwardFactory, iftGrad, hookIftGrad, phantomGrad, phantomSteps, BACKWARD_FACTORY_DEFAULTS, type BackwardFactoryOptions, type GradFunctor, type GradFunctorOptions, type BackwardWriter, type IftSettings, type PhantomSettings, type SolverKwargs } from './grad/index.js';
export { applyNorm, resetNorm, removeNorm, registerNorm, registerNormModule, getNorm, listNorms, hasNorm, WeightNorm, SpectralNorm, type NormOptions, type NormClass, type NormTarget, type AppliedNorm, type ModuleClass, type ScaleOptions, type SpectralNormConfig } from './norm/index.js';
export { VariationalDropoutBase, VariationalDropout, VariationalDropout1d, VariationalDropout2d, VariationalDropout3d, VariationalDropToken1d, VariationalDropToken2d, VariationalDropToken3d, resetDropout, type VariationalDropoutOptions, type VariationalDropoutNdOptions } from './dropout/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { memGc, type MemGcOptions } from './utils/mem_gc.js';
export { save, saveSync, load, loadSafetensors, readMetadata, parseHeader, type SaveOptions, type LoadOptions, type ReadOptions, type SafetensorsHeader } from './io/safetensors.js';
export { getDeq, registerDeq, listDeqs, resetDeq, type DEQClass } from './deq/registry.js';
export { DEQBase, DEQSliced, DEQIndexing, type DEQResult, type DEQForwardOptions } from './deq/core.js';
export { fromTorchDEQArgs, DEQ_DEFAULTS, type DEQOptions } from './deq/options.js';
