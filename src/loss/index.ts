/**
 * DEQ regularisers and losses: Jacobian regularisation, spectral-radius estimation and
 * fixed-point correction.
 */
export { jacReg, powerMethod, type JacRegOptions, type PowerMethodOptions, type PowerMethodResult } from './jacobian.js';
export { fpCorrection, registerWeightFunc, getWeightFunc, listWeightFuncs, correctionWeights, type FpCorrectionOptions, type WeightFunc, type WeightArgs } from './correction.js';
