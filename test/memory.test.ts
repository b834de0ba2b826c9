/** The emulated rank's tagged allocations per category equal the analytic model for C_r, B, D. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core } from '../src/core/index.js';
import { emulatedCommunicator } from '../src/comm/local.js';
import { SyntheticBatch, createStrategy } from '../src/strategies/index.js';
import { modelMemory } from '../src/model/memory.js';
import { cpuBackend, smallConfig } from './helpers.js';
import { MEMORY_CATEGORIES } from '../src/core/binding.js';

const CASES = [
  { strategy: 'model-parallel', classes: 1001, ranks: 8, rank: 0 },
  { strategy: 'model-parallel', classes: 1001, ranks: 8, rank: 7 },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 3, sampleRate: 0.1 },
  { strategy: 'partial-fc', classes: 300, ranks: 4, rank: 1, sampleRate: 0.05 }, // positives can exceed the sample
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 0, sampleRate: 0.1, update: 'lazy-dense' }, // + last steps
  { strategy: 'data-parallel', classes: 777, ranks: 4, rank: 2 },
] as const;

for (const c of CASES) {
  test(`${c.strategy} rank ${c.rank} of ${c.ranks}, ${c.classes} classes: tagged bytes per category = model`, () => {
    const { rank: _rank, ...fields } = c;
    const config = smallConfig({ ...fields, batch: 64, dim: 24, seed: 3 });
    const native = core();
    const before = native.memoryStats('cpu').current;
    native.resetMemoryPeaks('cpu');
    const comm = emulatedCommunicator(c.rank, c.ranks);
    const strategy = createStrategy({ backend: cpuBackend(), comm, config, source: new SyntheticBatch(config.seed, config.classes) });
    try {
      strategy.step(0, cpuBackend().createTimer());
      const now = native.memoryStats('cpu');
      const model = modelMemory(config, c.rank);
      for (const category of MEMORY_CATEGORIES) {
        assert.equal(now.current[category] - before[category], model[category], `${category}: measured vs model`);
      }
    } finally {
      strategy.dispose();
    }
    const after = native.memoryStats('cpu').current;
    for (const category of MEMORY_CATEGORIES) assert.equal(after[category], before[category], `${category} freed on dispose`);
  });
}
