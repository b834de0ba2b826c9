/** The strategies: their registry, configuration, interface and batch sources. */
export { STRATEGY_NAMES, createStrategy, findStrategy, strategyDescriptors, strategyOf, validateFcConfig } from './registry.js';
export type { StrategyDescriptor } from './descriptor.js';
export * from './config.js';
export * from './strategy.js';
export * from './batch.js';
