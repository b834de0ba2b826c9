/**
 * The strategy registry: every strategy's descriptor, by name. Adding a built-in strategy is one
 * new file (the implementation ending with its descriptor) and one entry in BUILT_IN; a strategy
 * module (--strategy-module, modules.ts) adds its descriptors for one run with registerStrategy.
 */
import { UsageError, suggest } from '../core/errors.js';
import { freeOnFailure } from '../core/backend.js';
import { validateFcShapes, type FcConfig } from './config.js';
import type { StrategyDescriptor } from './descriptor.js';
import type { Strategy, StrategyContext } from './strategy.js';
import { dataParallel } from './data-parallel.js';
import { modelParallel } from './model-parallel.js';
import { partialFc } from './partial-fc.js';

const BUILT_IN: readonly StrategyDescriptor[] = [dataParallel, modelParallel, partialFc];

const REGISTRY: StrategyDescriptor[] = [...BUILT_IN];

const BY_NAME = new Map(REGISTRY.map((d) => [d.name, d]));

/** Every registered name (a live list: a loaded strategy module's names join it). */
const NAMES: string[] = REGISTRY.map((d) => d.name);
export const STRATEGY_NAMES: readonly string[] = NAMES;

export function strategyDescriptors(): readonly StrategyDescriptor[] {
  return REGISTRY;
}

/** True for the strategies pfc-bench itself defines. */
export function isBuiltInStrategy(name: string): boolean {
  return BUILT_IN.some((d) => d.name === name);
}

/**
 * Adds a loaded module's descriptor. The caller (modules.ts) has checked it; a name already
 * registered is an Error naming both (a module may not replace a built-in strategy).
 */
export function registerStrategy(descriptor: StrategyDescriptor, origin: string): void {
  if (BY_NAME.has(descriptor.name)) {
    const owner = isBuiltInStrategy(descriptor.name) ? 'a built-in strategy' : 'a strategy another module loaded';
    throw new Error(`${origin}: strategy '${descriptor.name}' is already ${owner}; choose another name`);
  }
  REGISTRY.push(descriptor);
  BY_NAME.set(descriptor.name, descriptor);
  NAMES.push(descriptor.name);
}

/** The descriptor of a strategy name; a UsageError naming --strategy for an unknown one. */
export function strategyOf(name: string): StrategyDescriptor {
  const descriptor = BY_NAME.get(name);
  if (!descriptor) throw new UsageError('--strategy', `unknown value '${name}'; expected one of ${STRATEGY_NAMES.join(', ')}${suggest(name, STRATEGY_NAMES)}`);
  return descriptor;
}

/** The descriptor, or undefined for a name this build does not know (an old results file). */
export function findStrategy(name: string): StrategyDescriptor | undefined {
  return BY_NAME.get(name);
}

/** Removes a module's descriptor (one that failed its load check); built-in strategies stay. */
export function unregisterStrategy(name: string): void {
  if (isBuiltInStrategy(name)) throw new Error(`cannot unregister the built-in strategy '${name}'`);
  const i = REGISTRY.findIndex((d) => d.name === name);
  if (i < 0) return;
  REGISTRY.splice(i, 1);
  NAMES.splice(NAMES.indexOf(name), 1);
  BY_NAME.delete(name);
}

/** Throws a UsageError naming the first option that makes the configuration impossible. */
export function validateFcConfig(config: FcConfig): FcConfig {
  const strategy = strategyOf(config.strategy);
  validateFcShapes(config);
  const logits = config.logits ?? 'materialized';
  if (!strategy.logits.includes(logits)) {
    const able = REGISTRY.filter((d) => d.logits.includes(logits)).map((d) => d.name).join(', ');
    throw new UsageError('--logits', `${logits} applies to ${able}, not ${config.strategy} (it implements ${strategy.logits.join(', ')})`);
  }
  if (!strategy.updates.includes(config.update)) {
    const able = REGISTRY.filter((d) => d.updates.includes(config.update)).map((d) => d.name).join(', ');
    throw new UsageError('--update', `${config.update} applies to ${able}, not ${config.strategy} (it implements ${strategy.updates.join(', ')})`);
  }
  if (!strategy.samples && config.sampleRate !== 1) {
    throw new UsageError('--sample-rate', `only ${REGISTRY.filter((d) => d.samples).map((d) => d.name).join(', ')} samples centres; ${config.strategy} needs rate 1 (got ${config.sampleRate})`);
  }
  return config;
}

/** Builds the strategy; one that fails half way (out of memory) frees what it had allocated. */
export function createStrategy(ctx: StrategyContext): Strategy {
  const strategy = strategyOf(ctx.config.strategy);
  return freeOnFailure(() => strategy.create(ctx));
}
