/**
 * Gradients of fixed points: the `backwardFactory` of gradient functors (IFT and phantom
 * gradients) and the functors themselves.
 */
export { backwardFactory, BACKWARD_FACTORY_DEFAULTS, type BackwardFactoryOptions, type GradFunctor, type GradFunctorOptions } from './factory.js';
export { iftGrad, hookIftGrad, type IftSettings, type BackwardWriter, type SolverKwargs } from './ift.js';
export { phantomGrad, phantomSteps, type PhantomSettings } from './phantom.js';
