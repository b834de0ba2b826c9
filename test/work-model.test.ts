/** The work model's GEMM count with --logits fused: the logit-free step recomputes every tile's logits but the last's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepWork } from '../src/strategies/work-model.js';
import { smallConfig } from './helpers.js';
import { fusedScratchColumns, fusedTileColumns, type FcConfig } from '../src/strategies/config.js';
import { strategyOf } from '../src/strategies/registry.js';

/** The columns rank 0's gradient pass recomputes with `active` active centres (its descriptor's count). */
const fusedRecomputedColumns = (config: FcConfig, active: number) => strategyOf(config.strategy).recomputedColumns!(config, active, 0);

test('fused logits add a fourth GEMM over every tile but the last; one tile is three GEMMs', () => {
  const base = smallConfig({ strategy: 'model-parallel', classes: 1000, batch: 16, dim: 8 });
  const A = 1000;
  const per = 2 * 16 * A * 8; // one GEMM over every active column
  assert.equal(stepWork(base, A, A).gemmFlops, 3 * per);
  // Tiles of 64: 15 full tiles are recomputed (960 columns), the last 40 are kept from pass 1.
  const tiled = { ...base, logits: 'fused' as const, tile: 64 };
  assert.equal(fusedRecomputedColumns(tiled, A), 960);
  assert.equal(stepWork(tiled, A, A).gemmFlops, 3 * per + 2 * 16 * 960 * 8);
  // Tiles of one column: all but one recomputed. One tile holding everything: none.
  assert.equal(fusedRecomputedColumns({ ...tiled, tile: 1 }, A), A - 1);
  assert.equal(fusedRecomputedColumns({ ...tiled, tile: 1000 }, A), 0);
  assert.equal(stepWork({ ...tiled, tile: 5000 }, A, A).gemmFlops, 3 * per);
  // Partial FC: the tile is sized from the shard's capacity, the count from this step's active centres.
  const pfc = smallConfig({ strategy: 'partial-fc', sampleRate: 0.1, classes: 1000, batch: 16, dim: 8, logits: 'fused', tile: 30 });
  assert.equal(fusedRecomputedColumns(pfc, 100), 90);
  assert.equal(fusedRecomputedColumns({ ...pfc, logits: undefined }, 100), 0);
});

test('the default tile: the scratch holds the most columns the 64 MiB budget fits; the tiles split the shard evenly', () => {
  // B 1024, D 512, fp32: 8,196 bytes a column, 8,128 columns (a multiple of 64) in 64 MiB.
  const config = smallConfig({ strategy: 'model-parallel', classes: 1_000_000, ranks: 8, batch: 1024, dim: 512, logits: 'fused' });
  assert.equal(fusedScratchColumns(config, 125_000), 8128);
  assert.equal(fusedTileColumns(config, 125_000), 7872); // 16 tiles: ceil(125000 / 16) = 7813, aligned
  assert.equal(fusedScratchColumns(config, 5000), 5000);
  assert.equal(fusedTileColumns(config, 5000), 5000);
  assert.equal(fusedTileColumns(config, 12_500), 6272); // two tiles of 6,250, aligned
  // The scratch never shrinks as the shard grows (the capacity search bisects on it).
  let last = 0;
  for (let capacity = 1; capacity < 40_000; capacity += 97) {
    const columns = fusedScratchColumns(config, capacity);
    assert.ok(columns >= last, `scratch ${columns} < ${last} at ${capacity}`);
    assert.ok(fusedTileColumns(config, capacity) <= columns);
    last = columns;
  }
});
