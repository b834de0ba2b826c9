/** Order statistics of a sample (median and spread). */
import type { Spread } from './results.js';

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(sorted.length, 1),
    min: sorted[0] ?? NaN,
    p10: quantile(sorted, 0.1),
    p90: quantile(sorted, 0.9),
    max: sorted[sorted.length - 1] ?? NaN,
    samples: [...samples],
  };
}

export function median(samples: readonly number[]): number {
  return quantile([...samples].sort((a, b) => a - b), 0.5);
}
