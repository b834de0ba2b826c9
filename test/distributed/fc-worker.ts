/**
 * One rank of the MPI equivalence test (test/mpi.test.ts launches it:
 * mpirun -np N node dist/test/distributed/fc-worker.js OUT_DIR).
 *
 * For every case (model parallel, partial-fc sparse/dense/lazy-dense, data parallel; the first four
 * also with fused logits) this rank runs
 * STEPS steps with the real MPI communicator on its share of a fixed global batch and writes
 * what the test compares with the float64 reference: losses, its feature gradient rows, its
 * centres and momentum, its sampled centres (global ids). Then it runs the same steps as the
 * emulated rank r of N (one process, same per-rank batches) and writes both runs' tagged
 * memory and collective records. A failure ends the whole job naming the rank.
 *
 * Run alone (node's test runner finds it), it does nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { core } from '../../src/core/index.js';
import type { Communicator } from '../../src/comm/communicator.js';
import { emulatedCommunicator } from '../../src/comm/local.js';
import { finalizeMpi, MpiCommunicator, mpiWorld } from '../../src/comm/mpi.js';
import { failRank } from '../../src/bench/real.js';
import { buildStrategy, testBackend, splitBatch } from '../helpers.js';
import { loadStrategyModulesFromEnv } from '../../src/strategies/modules.js';
import { fixtureCases, caseConfig, globalBatch, STEPS, type MemoryOutput, type RankCaseOutput, type RankOutput, type FcCase } from './fixture.js';

// The strategy modules the test names (PFC_STRATEGY_MODULES) join the cases.
await loadStrategyModulesFromEnv();

function memory(): MemoryOutput {
  const stats = core().memoryStats('cpu');
  return { peak: { ...stats.peak }, atTotalPeak: { ...stats.atTotalPeak }, totalPeak: stats.totalPeak };
}

function runCase(c: FcCase, rank: number, size: number): RankCaseOutput {
  const config = caseConfig(c, size);
  const { features, labels } = globalBatch(size);
  const source = splitBatch(features, labels, size, config.dim);
  const timer = testBackend().createTimer();

  // The real run.
  core().resetMemoryPeaks('cpu');
  const comm = new MpiCommunicator();
  const strategy = buildStrategy(config, source, comm);
  const out: RankCaseOutput = {
    name: c.name,
    shard: strategy.shard,
    initialWeights: Array.from(strategy.weights.read()),
    initialMomentum: Array.from(strategy.momentum.read()),
    steps: [],
    memory: { peak: {}, atTotalPeak: {}, totalPeak: 0 },
    emulated: { logs: [], memory: { peak: {}, atTotalPeak: {}, totalPeak: 0 } },
  };
  try {
    for (let step = 0; step < STEPS; step++) {
      const before = comm.log.length;
      strategy.step(step, timer);
      const log = comm.log.slice(before);
      const indices = strategy.activeIndices();
      out.steps.push({
        loss: strategy.loss(), // data parallel: an all-reduce outside the step, on every rank
        featureGrad: Array.from(strategy.featureGrad.read()),
        weights: Array.from(strategy.weights.read()),
        momentum: Array.from(strategy.momentum.read()),
        active: indices ? Array.from(indices, (i) => i + strategy.shard.offset) : null,
        log,
      });
    }
    out.memory = memory();
  } finally {
    strategy.dispose();
  }

  // The emulated rank r of N on the same per-rank batches.
  core().resetMemoryPeaks('cpu');
  const emulated: Communicator = emulatedCommunicator(rank, size);
  const twin = buildStrategy(config, source, emulated);
  try {
    for (let step = 0; step < STEPS; step++) {
      const before = emulated.log.length;
      twin.step(step, timer);
      out.emulated.logs.push(emulated.log.slice(before));
      twin.loss();
    }
    out.emulated.memory = memory();
  } finally {
    twin.dispose();
  }
  return out;
}

function main(): void {
  const [outDir] = process.argv.slice(2);
  if (!outDir) {
    process.stdout.write('fc-worker: one rank of test/mpi.test.ts, launched by mpirun; nothing to do alone\n');
    return;
  }
  const world = mpiWorld();
  try {
    core().setThreads(1);
    const output: RankOutput = { rank: world.rank, size: world.size, version: world.version, cases: [] };
    for (const c of fixtureCases()) output.cases.push(runCase(c, world.rank, world.size));
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `rank-${world.rank}.json`), JSON.stringify(output));
    core().mpiBarrier();
    finalizeMpi();
  } catch (error) {
    failRank(world.rank, error);
  }
}

main();
