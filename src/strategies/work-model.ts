/**
 * FLOPs and bytes of one FC step from its shapes (each strategy's descriptor says which
 * shapes: see model/bytes.ts's fcStepWork for the formula).
 */
import { strategyOf } from './registry.js';
import type { FcConfig } from './config.js';

export type { StepWork } from '../model/bytes.js';

export function stepWork(config: FcConfig, activeCentres: number, shardSize: number) {
  return strategyOf(config.strategy).work(config, activeCentres, shardSize);
}
