/**
 * The strategy registry: every strategy's descriptor, by name. Adding a strategy is one new
 * file (the implementation ending with its descriptor) and one entry here.
 */
import { UsageError, suggest } from '../core/errors.js';
import { freeOnFailure } from '../core/backend.js';
import { validateFcShapes, type FcConfig } from './config.js';
import type { StrategyDescriptor } from './descriptor.js';
import type { Strategy, StrategyContext } from './strategy.js';
import { dataParallel } from './data-parallel.js';
import { modelParallel } from './model-parallel.js';
import { partialFc } from './partial-fc.js';

const REGISTRY: readonly StrategyDescriptor[] = [dataParallel, modelParallel, partialFc];

const BY_NAME = new Map(REGISTRY.map((d) => [d.name, d]));

export const STRATEGY_NAMES: readonly string[] = REGISTRY.map((d) => d.name);

export function strategyDescriptors(): readonly StrategyDescriptor[] {
  return REGISTRY;
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

/** Throws a UsageError naming the first option that makes the configuration impossible. */
export function validateFcConfig(config: FcConfig): FcConfig {
  const strategy = strategyOf(config.strategy);
  validateFcShapes(config);
  if (config.logits === 'fused' && !strategy.recomputedColumns) {
    const sharded = REGISTRY.filter((d) => d.recomputedColumns).map((d) => d.name).join(', ');
    throw new UsageError('--logits', `fused applies to the sharded strategies (${sharded}), not ${config.strategy}`);
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
