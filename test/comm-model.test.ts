/** The communication model against hand-computed ring-collective times. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectiveSeconds, interconnect, modeledMilliseconds } from '../src/model/comm.js';
import { emulatedCommunicator } from '../src/comm/local.js';
import { createStrategy, SyntheticBatch } from '../src/strategies/index.js';
import { testBackend, smallConfig } from './helpers.js';

test('ring all-gather, reduce-scatter and all-reduce inside a node', () => {
  const p = interconnect('nvlink-a100'); // alpha 6 us, 230 GB/s inside a node
  const n = 8 * 1024 * 512 * 4; // 16 MiB
  // all-gather on 8 ranks: 7 alpha + 7/8 n / bw
  assert.ok(Math.abs(collectiveSeconds({ kind: 'allGather', label: 'x', bytes: n, ranks: 8 }, p) - (7 * 6e-6 + (7 / 8) * (n / 230e9))) < 1e-12);
  assert.ok(Math.abs(collectiveSeconds({ kind: 'reduceScatter', label: 'x', bytes: n, ranks: 8 }, p) - (7 * 6e-6 + (7 / 8) * (n / 230e9))) < 1e-12);
  // all-reduce: 2 x 7 alpha + 2 x 7/8 n / bw
  assert.ok(Math.abs(collectiveSeconds({ kind: 'allReduce', op: 'sum', label: 'x', bytes: n, ranks: 8 }, p) - (14 * 6e-6 + (14 / 8) * (n / 230e9))) < 1e-12);
  assert.equal(collectiveSeconds({ kind: 'allReduce', label: 'x', bytes: n, ranks: 1 }, p), 0);
});

test('a ring across nodes is limited by the network', () => {
  const p = interconnect('pcie-gen3'); // 8 GPUs per node, 10 GB/s inside and between nodes
  const q = interconnect('nvlink-v100'); // 130 GB/s inside, 40 GB/s between nodes
  const n = 1e9;
  const inside = collectiveSeconds({ kind: 'allGather', label: 'x', bytes: n, ranks: 8 }, q);
  const across = collectiveSeconds({ kind: 'allGather', label: 'x', bytes: n, ranks: 64 }, q);
  assert.ok(Math.abs(inside - (7 * 8e-6 + (7 / 8) * (n / 130e9))) < 1e-12);
  assert.ok(Math.abs(across - (63 * 8e-6 + (63 / 64) * (n / 40e9))) < 1e-12);
  assert.ok(collectiveSeconds({ kind: 'allGather', label: 'x', bytes: n, ranks: 64 }, p) > across);
  // --gpus-per-node 64 keeps the ring inside one (large) node
  const big = interconnect('nvlink-v100', 64);
  assert.ok(Math.abs(collectiveSeconds({ kind: 'allGather', label: 'x', bytes: n, ranks: 64 }, big) - (63 * 8e-6 + (63 / 64) * (n / 130e9))) < 1e-12);
  assert.throws(() => interconnect('nvlink'), /--interconnect: unknown profile 'nvlink'/);
});

test('the collectives a partial-fc step records, and their modeled time', () => {
  const config = smallConfig({ strategy: 'partial-fc', classes: 4000, ranks: 8, batch: 64, dim: 32, sampleRate: 0.1 });
  const comm = emulatedCommunicator(3, 8);
  const strategy = createStrategy({ backend: testBackend(), comm, config, source: new SyntheticBatch(1, config.classes) });
  strategy.step(0, testBackend().createTimer());
  strategy.dispose();
  const B = 64;
  const D = 32;
  assert.deepEqual(
    comm.log.map((r) => [r.kind, r.label, r.bytes, r.ranks]),
    [
      ['allGather', 'features', B * D * 4, 8],
      ['allGather', 'labels', B * 4, 8],
      ['allReduce', 'rowMax', B * 4, 8],
      ['allReduce', 'rowSum+targetLogit', 2 * B * 4, 8],
      ['reduceScatter', 'featureGrad', B * D * 4, 8],
    ],
  );
  const p = interconnect('pcie-gen3');
  const expected = comm.log.reduce((s, r) => s + collectiveSeconds(r, p), 0) * 1000;
  assert.ok(Math.abs(modeledMilliseconds(comm.log, p) - expected) < 1e-12);
});
