/**
 * The `optim` namespace: optimizers, learning-rate schedules and gradient clipping.
 */
export { Optimizer, type ParamGroup, type ParamsInput, type ParamState } from './optimizer.js';
export { SGD, SGD_DEFAULTS, type SGDOptions } from './sgd.js';
export { Adam, AdamW, ADAM_DEFAULTS, ADAMW_DEFAULTS, type AdamOptions } from './adam.js';
export { cosineAnnealing, CosineAnnealingLR, type CosineAnnealingOptions } from './schedule.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
