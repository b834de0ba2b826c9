/**
 * How readers see a cell's method, from its strategy's descriptor; a strategy this build does
 * not know (an old results file) is shown by its name.
 */
import { findStrategy } from '../strategies/registry.js';
import type { FcConfig } from '../strategies/config.js';

type MethodFields = Pick<FcConfig, 'strategy' | 'sampleRate' | 'update'> & Partial<FcConfig>;

// The logit-free step (--logits fused) is a variant of every sharded strategy, and ours, not a
// published one: every name says so, and it sorts right after its materialized twin.
const fused = (spec: MethodFields) => spec.logits === 'fused';

/** "partial-fc 0.1 sparse"; `detailed` adds what tells two cells apart (compare). */
export function methodLabel(spec: MethodFields, detailed = false): string {
  const label = findStrategy(spec.strategy)?.label(spec as FcConfig, detailed) ?? String(spec.strategy);
  return fused(spec) ? `${label} fused${detailed && spec.tile ? ` T${spec.tile}` : ''}` : label;
}

/** "Partial FC 0.1 (sparse)". */
export function methodTitle(spec: MethodFields): string {
  const title = findStrategy(spec.strategy)?.title(spec as FcConfig) ?? String(spec.strategy);
  return fused(spec) ? `${title}, fused logits (ours)` : title;
}

/** Sort key: the registry's order of strategies, then each strategy's own order of its methods. */
export function methodOrder(spec: MethodFields): number {
  const d = findStrategy(spec.strategy);
  return (d ? d.order * 10 + d.sortKey(spec as FcConfig) : 1e6) + (fused(spec) ? 1e-3 : 0);
}

/**
 * The report colours of a strategy's methods. A fused method takes the darker shades: the same
 * hue as its materialized twin, and never the light tints the charts give published figures.
 */
export function methodColours(spec: MethodFields): readonly string[] {
  const colours = findStrategy(spec.strategy)?.colours ?? ['#9c755f'];
  return fused(spec) ? colours.map(darker) : colours;
}

/** 55% of each channel: the same hue, clearly another legend entry. */
function darker(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const scale = (shift: number) => Math.round(((n >> shift) & 255) * 0.55);
  return `#${[16, 8, 0].map((sh) => scale(sh).toString(16).padStart(2, '0')).join('')}`;
}
