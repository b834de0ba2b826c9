/**
 * The emulated rank's tagged allocations per category equal the analytic model for C_r, B, D:
 * after a step (what stays) and at the step's peak (what stays plus the backend's GEMM
 * workspace: none for fp32 on the CPU; the bf16 GEMM's conversion buffer, held during each call).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core } from '../src/core/index.js';
import { emulatedCommunicator } from '../src/comm/local.js';
import { SyntheticBatch, createStrategy, strategyDescriptors } from '../src/strategies/index.js';
import { exampleCases, memoryMismatch } from '../src/strategies/harness.js';
import { modelMemory } from '../src/strategies/memory-model.js';
import { deviceWorkspaceBytes } from '../src/bench/cell.js';
import { testBackend, smallConfig } from './helpers.js';
import { MEMORY_CATEGORIES } from '../src/core/binding.js';
import { alignedColumns } from '../src/strategies/config.js';
import { STORAGE_BYTES } from '../src/model/bytes.js';

const CASES = [
  { strategy: 'model-parallel', classes: 1001, ranks: 8, rank: 0 },
  { strategy: 'model-parallel', classes: 1001, ranks: 8, rank: 7 },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 3, sampleRate: 0.1 },
  { strategy: 'partial-fc', classes: 300, ranks: 4, rank: 1, sampleRate: 0.05 }, // positives can exceed the sample
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 0, sampleRate: 0.1, update: 'lazy-dense' }, // + last steps
  { strategy: 'data-parallel', classes: 777, ranks: 4, rank: 2 },
  // Fused logits, a tile that does not divide C_r, Partial FC's three updates, and the
  // tile chosen from the scratch budget (smaller than C_r = 162,501 here).
  { strategy: 'model-parallel', classes: 1001, ranks: 8, rank: 7, logits: 'fused', tile: 7 },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 3, sampleRate: 0.1, logits: 'fused', tile: 50 },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 0, sampleRate: 0.1, update: 'dense', logits: 'fused', tile: 1 },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 0, sampleRate: 0.1, update: 'lazy-dense', logits: 'fused', tile: 64 },
  { strategy: 'model-parallel', classes: 1_300_001, ranks: 8, rank: 0, logits: 'fused' },
  // bf16 storage: half the normalized features, active centres and logits, plus the conversion buffer.
  { strategy: 'model-parallel', classes: 1001, ranks: 8, rank: 7, dtype: 'bf16' },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 0, sampleRate: 0.1, update: 'lazy-dense', dtype: 'bf16' },
  { strategy: 'data-parallel', classes: 777, ranks: 4, rank: 2, dtype: 'bf16' },
  { strategy: 'partial-fc', classes: 5003, ranks: 4, rank: 3, sampleRate: 0.1, logits: 'fused', tile: 50, dtype: 'bf16' },
] as const;

// Every registered strategy, each example under each declared update and logits mode, as rank 0
// and the last rank of 3 (shards of unequal size): a new strategy is tested by registering it.
for (const descriptor of strategyDescriptors()) {
  for (const c of exampleCases(descriptor)) {
    for (const rank of [0, 2]) {
      test(`${c.name}, rank ${rank} of 3: tagged bytes per category = model`, () => {
        const config = smallConfig({ ...c.overrides, ranks: 3, batch: 3 * Math.ceil((c.overrides.batch ?? 6) / 3), classes: Math.max(c.overrides.classes ?? 37, 101) });
        assert.equal(memoryMismatch(config, rank), null);
      });
    }
  }
}

for (const c of CASES) {
  const fused = 'logits' in c ? `, fused logits (tile ${'tile' in c ? c.tile : 'from the budget'})` : '';
  const dtype = 'dtype' in c ? `, ${c.dtype}` : '';
  test(`${c.strategy} rank ${c.rank} of ${c.ranks}, ${c.classes} classes${fused}${dtype}: tagged bytes per category = model, after the step and at its peak`, () => {
    const { rank: _rank, ...fields } = c;
    const config = smallConfig({ ...fields, batch: 64, dim: 24, seed: 3 });
    const native = core();
    const backend = testBackend();
    backend.releaseWorkspaces(); // a CUDA device's workspaces, as each benchmark cell starts
    const before = native.memoryStats(backend.device).current;
    native.resetMemoryPeaks(backend.device);
    const comm = emulatedCommunicator(c.rank, c.ranks);
    const strategy = createStrategy({ backend, comm, config, source: new SyntheticBatch(config.seed, config.classes) });
    try {
      strategy.step(0, backend.createTimer());
      const now = native.memoryStats(backend.device);
      // A CUDA device's (cuda-sim here) cuBLAS workspace and kernel scratch; the CPU's bf16 GEMM buffer.
      const workspace = deviceWorkspaceBytes(config, c.rank, backend, false);
      const model = modelMemory(config, c.rank, workspace);
      // The CPU's bf16 GEMM buffer lives during each call only; cuBLAS's workspace and the kernels' scratch stay.
      const transient = backend.smCount === null ? workspace : 0;
      for (const category of MEMORY_CATEGORIES) {
        const held = model[category] - (category === 'workspace' ? transient : 0);
        assert.equal(now.current[category] - before[category], held, `${category}: measured after the step vs model`);
        assert.equal(now.peak[category] - before[category], model[category], `${category}: measured peak vs model`);
        assert.equal(now.atTotalPeak[category] - before[category], model[category], `${category}: measured at the total's peak vs model`);
      }
      if (config.logits === 'fused') {
        // The logits are one B x T tile (T aligned to 64 columns), below the materialized B x C_r.
        // From the budget: 64 MiB over 452 bytes a column (B 64 and D 24 in fp32) is 148,416
        // columns of scratch (C_r = 162,501 then runs as two tiles of 81,280).
        const tile = config.tile || 148_416;
        assert.equal(now.current.logits - before.logits, config.batch * alignedColumns(tile) * STORAGE_BYTES[config.dtype], 'logits: one tile of scratch');
        const materialized = modelMemory({ ...config, logits: undefined, tile: undefined }, c.rank);
        assert.ok(model.logits < materialized.logits, `fused logits ${model.logits} < materialized ${materialized.logits}`);
        assert.ok(now.atTotalPeak.logits - before.logits <= model.logits, 'the logits never exceed the tile scratch');
      }
    } finally {
      strategy.dispose();
      backend.releaseWorkspaces();
    }
    const after = native.memoryStats(testBackend().device).current;
    for (const category of MEMORY_CATEGORIES) assert.equal(after[category], before[category], `${category} freed on dispose`);
  });
}
