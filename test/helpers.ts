/** Shared pieces of the tests: building a strategy on fixed inputs, and closeness checks (the harness of src/strategies/harness.ts). */
import assert from 'node:assert/strict';
import { closeness, exampleConfig } from '../src/strategies/harness.js';
import type { FcConfig } from '../src/strategies/index.js';

export { buildStrategy, cpuBackend, f64, lcg, outlierBatch, referenceStepFor, splitBatch } from '../src/strategies/harness.js';

export function smallConfig(overrides: Partial<FcConfig> = {}): FcConfig {
  return exampleConfig({ strategy: 'model-parallel', ...overrides });
}

/** fp32 against float64 (harness.ts's closeness): fails naming what differs. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, relTol = 2e-4, elementTol = 3e-3): void {
  const off = closeness(actual, expected, relTol, elementTol);
  if (off) assert.fail(`${what}: ${off}`);
}
