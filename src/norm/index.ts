/**
 * Weight reparametrisations for DEQs: weight norm, spectral norm, and applying / resetting /
 * removing them over a whole model.
 */
export { applyNorm, resetNorm, removeNorm, registerNorm, registerNormModule, getNorm, listNorms, hasNorm, type NormOptions } from './registry.js';
export { WeightNorm } from './weight_norm.js';
export { SpectralNorm, type SpectralNormConfig } from './spectral_norm.js';
export type { NormClass, NormTarget, AppliedNorm, ModuleClass, ScaleOptions } from './common.js';
