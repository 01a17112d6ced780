/**
 * The `nn.init` namespace: the initialisers that return a new tensor (./init.ts) and the
 * in-place ones with torch's names (./init_inplace.ts).
 */
export * from './init.js';
export * from './init_inplace.js';
