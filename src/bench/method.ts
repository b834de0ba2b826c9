/**
 * How readers see a cell's method, from its strategy's descriptor; a strategy this build does
 * not know (an old results file) is shown by its name.
 */
import { findStrategy } from '../strategies/registry.js';
import type { FcConfig } from '../strategies/config.js';

type MethodFields = Pick<FcConfig, 'strategy' | 'sampleRate' | 'update'> & Partial<FcConfig>;

/** "partial-fc 0.1 sparse"; `detailed` adds what tells two cells apart (compare). */
export function methodLabel(spec: MethodFields, detailed = false): string {
  return findStrategy(spec.strategy)?.label(spec as FcConfig, detailed) ?? String(spec.strategy);
}

/** "Partial FC 0.1 (sparse)". */
export function methodTitle(spec: MethodFields): string {
  return findStrategy(spec.strategy)?.title(spec as FcConfig) ?? String(spec.strategy);
}

/** Sort key: the registry's order of strategies, then each strategy's own order of its methods. */
export function methodOrder(spec: MethodFields): number {
  const d = findStrategy(spec.strategy);
  return d ? d.order * 10 + d.sortKey(spec as FcConfig) : 1e6;
}

/** The report colours of a strategy's methods. */
export function methodColours(spec: MethodFields): readonly string[] {
  return findStrategy(spec.strategy)?.colours ?? ['#9c755f'];
}
