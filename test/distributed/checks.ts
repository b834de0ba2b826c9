/**
 * The checks of the MPI equivalence test (test/mpi.test.ts; test/strategy-modules.test.ts runs them
 * on a strategy module's cases): N real ranks against the single-process float64 reference, and
 * each real rank against the emulated rank r of N (bytes per category, collectives).
 */
import assert from 'node:assert/strict';
import { assertClose, f64, referenceStepFor } from '../helpers.js';
import { strategyOf } from '../../src/strategies/index.js';
import { caseConfig, CLASSES, DIM, fixtureCases, globalBatch, LOCAL_BATCH, STEPS, type FcCase, type RankOutput } from './fixture.js';

export function checkAgainstReference(size: number, outputs: RankOutput[], only: (c: FcCase) => boolean = () => true): void {
  const { features, labels } = globalBatch(size);
  fixtureCases().forEach((c, ci) => {
    if (!only(c)) return;
    const config = caseConfig(c, size);
    const ranks = outputs.map((o) => o.cases[ci]);
    const what = `${c.name}, ${size} ranks`;
    // Replicated (data parallel): every rank holds every centre; else the shards tile the classes.
    const dataParallel = size > 1 && ranks.every((r) => r.shard.offset === 0 && r.shard.size === CLASSES);
    const concat = (pick: (r: (typeof ranks)[number]) => number[]) => Float64Array.from(ranks.flatMap(pick));
    if (dataParallel) {
      for (const r of ranks) assert.deepEqual(r.shard, { offset: 0, size: CLASSES }, `${what}: every rank holds every centre`);
    } else {
      let offset = 0;
      ranks.forEach((r, i) => {
        assert.equal(r.shard.offset, offset, `${what}: rank ${i}'s shard starts where rank ${i - 1}'s ends`);
        offset += r.shard.size;
      });
      assert.equal(offset, CLASSES, `${what}: the shards cover every class`);
    }
    let weights = dataParallel ? f64(ranks[0].initialWeights) : concat((r) => r.initialWeights);
    let momentum = dataParallel ? f64(ranks[0].initialMomentum) : concat((r) => r.initialMomentum);
    if (dataParallel) ranks.forEach((r, i) => assert.deepEqual(r.initialWeights, ranks[0].initialWeights, `${what}: rank ${i}'s initial centres`));
    for (let step = 0; step < STEPS; step++) {
      const at = `${what}, step ${step}`;
      let active: number[] | null = null;
      if (strategyOf(config.strategy).samples) {
        const union = new Set(ranks.flatMap((r) => r.steps[step].active ?? []));
        active = [...union].sort((a, b) => a - b);
        for (const label of labels) assert.ok(union.has(label), `${at}: positive ${label} was not sampled`);
        assert.ok(active.length < CLASSES, `${at}: ${config.strategy} sampled every centre (${active.length})`);
      }
      const ref = referenceStepFor(config, { weights, momentum }, features, labels, active);
      ranks.forEach((r, i) => {
        const loss = r.steps[step].loss;
        assert.ok(loss !== null && Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss) + 1e-5, `${at}: rank ${i}'s loss ${loss} vs ${ref.loss}`);
      });
      assertClose(concat((r) => r.steps[step].featureGrad), ref.featureGrad, `${at}: feature gradient (ranks' rows in order)`);
      if (dataParallel) {
        ranks.forEach((r, i) => {
          assertClose(r.steps[step].weights, ref.weights, `${at}: rank ${i}'s centres`, 1e-5);
          assertClose(r.steps[step].momentum, ref.momentum, `${at}: rank ${i}'s momentum`);
        });
      } else {
        assertClose(concat((r) => r.steps[step].weights), ref.weights, `${at}: centres`, 1e-5);
        assertClose(concat((r) => r.steps[step].momentum), ref.momentum, `${at}: momentum`);
      }
      weights = ref.weights;
      momentum = ref.momentum;
    }
  });
}

export function checkAgainstEmulation(size: number, outputs: RankOutput[], only: (c: FcCase) => boolean = () => true): void {
  const B = LOCAL_BATCH * size;
  fixtureCases().forEach((c, ci) => {
    if (!only(c)) return;
    outputs.forEach((o, rank) => {
      const run = o.cases[ci];
      const what = `${c.name}, rank ${rank} of ${size}`;
      assert.ok(run.memory.peak.centres > 0, `${what}: the real run's memory was not measured`);
      assert.deepEqual(run.memory.peak, run.emulated.memory.peak, `${what}: peak bytes per category, real vs emulated`);
      assert.deepEqual(run.memory.atTotalPeak, run.emulated.memory.atTotalPeak, `${what}: bytes per category at the total peak, real vs emulated`);
      assert.equal(run.memory.totalPeak, run.emulated.memory.totalPeak, `${what}: total peak, real vs emulated`);
      run.steps.forEach((s, step) => {
        assert.deepEqual(s.log, run.emulated.logs[step], `${what}, step ${step}: collectives (kind, label, bytes), real vs emulated`);
      });
      const labels = (run.steps[0].log as { label: string; bytes: number }[]).map((r) => `${r.label}:${r.bytes}`);
      const replicated = size > 1 && run.shard.offset === 0 && run.shard.size === CLASSES;
      const expected =
        replicated
          ? [`weightGrad:${CLASSES * DIM * 4}`]
          : [`features:${B * DIM * 4}`, `labels:${B * 4}`, `rowMax:${B * 4}`, `rowSum+targetLogit:${2 * B * 4}`, `featureGrad:${B * DIM * 4}`];
      assert.deepEqual(labels, expected, `${what}: the step's collectives`);
      const declared = strategyOf(c.overrides.strategy!).collectives(caseConfig(c, size)).map((r) => `${r.label}:${r.bytes}`);
      assert.deepEqual(labels, declared, `${what}: the collectives its descriptor declares (what predict and the communication model use)`);
    });
  });
}

