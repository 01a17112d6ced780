/**
 * Gradients of fixed points: the `backwardFactory` of gradient functors (IFT and phantom
 * gradients) and the functors themselves.
 */
export { backwardFactory, BACKWARD_FACTORY_DEFAULTS, type BackwardFactoryOptions, type GradFunctor, type GradFunctorOptions } from './factory.js';
export { iftGrad, hookIftGrad, BACKWARD_FAILURE_MODES, type IftSettings, type BackwardWriter, type BackwardFailureMode, type BackwardSolveInfo, type SolverKwargs } from './ift.js';
export { checkFailureMode } from './factory.js';
export { phantomGrad, phantomSteps, type PhantomSettings } from './phantom.js';
