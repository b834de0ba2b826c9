/** Configuration helpers for memory tests. */
import { DEFAULT_SGD, MARGINS, validateFcConfig, type FcConfig, type StrategyName } from '../src/strategies/index.js';
export { SyntheticBatch, createStrategy } from '../src/strategies/index.js';

export function smallConfigFor(c: { strategy: StrategyName; classes: number; ranks: number; batch: number; dim: number; sampleRate?: number }): FcConfig {
  return validateFcConfig({
    strategy: c.strategy,
    classes: c.classes,
    ranks: c.ranks,
    batch: c.batch,
    dim: c.dim,
    sampleRate: c.sampleRate ?? 1,
    update: 'sparse',
    margin: MARGINS.cosface,
    sgd: DEFAULT_SGD,
    seed: 3,
    dtype: 'fp32',
  });
}
