/** The strategy registry: one factory per name. */
import type { StrategyName } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';
import { createDataParallel } from './data-parallel.js';
import { createModelParallel } from './model-parallel.js';
import { createPartialFc } from './partial-fc.js';

export const STRATEGIES: Record<StrategyName, (ctx: StrategyContext) => Strategy> = {
  'data-parallel': createDataParallel,
  'model-parallel': createModelParallel,
  'partial-fc': createPartialFc,
};

export function createStrategy(ctx: StrategyContext): Strategy {
  return STRATEGIES[ctx.config.strategy](ctx);
}

export * from './config.js';
export * from './strategy.js';
export * from './batch.js';
