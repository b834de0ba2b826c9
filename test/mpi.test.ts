/**
 * Real multi-process runs over MPI (the step and real mode of docs/design.md), each test launching mpirun:
 * - N = 2, 3, 4 ranks give the same loss, feature gradient, centres and momentum as the
 *   single-process float64 reference, for model parallel, partial-fc (sparse, dense, lazy-dense), each
 *   with materialized and fused logits, and data parallel, on C = 41 (not divisible by N), D = 9, outliers and repeated labels;
 * - the emulated rank r of N allocates per category what real rank r allocates and records
 *   the same collectives (kind, label, bytes) — what the communication model consumes;
 * - `pfc-bench run --mode real` under mpirun: rank 0 alone reports, every rank's peak is kept; a
 *   cell that runs out of memory on any rank is recorded as oom by every rank and the job goes on;
 * - a failing rank (bad option, out of memory, MPI error) ends the whole job within seconds
 *   naming the rank; options that differ across ranks, or --gpus != world size, are refused.
 *
 * Skipped only when mpirun is missing (CI installs Open MPI, so CI runs them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLASSES, DIM, LOCAL_BATCH, type RankOutput } from './distributed/fixture.js';
import { checkAgainstEmulation, checkAgainstReference } from './distributed/checks.js';
import type { ResultsFile } from '../src/bench/results.js';
import { FAILURE_SECONDS, describeJob, mpiSkip, mpirun, runProcess, type JobResult } from './distributed/launch.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli.js');
const FC_WORKER = join(here, 'distributed', 'fc-worker.js');
const ERRORS_WORKER = join(here, 'distributed', 'errors-worker.js');

const skip = mpiSkip;
if (skip) process.stderr.write(`test/mpi.test.ts: SKIPPED, ${skip}\n`);

/** A job expected to fail is killed (and reported as hung) after this. */
const HANG_SECONDS = 30;

function assertSucceeded(job: JobResult): void {
  assert.ok(!job.timedOut && job.code === 0, `the job failed: ${describeJob(job)}`);
}

/** The job ended non-zero, quickly, and printed `message`. */
function assertFailedFast(job: JobResult, message: RegExp): void {
  assert.ok(!job.timedOut, `the job hung: ${describeJob(job)}`);
  assert.ok(job.code !== 0, `the job should have failed: ${describeJob(job)}`);
  assert.ok(job.seconds < FAILURE_SECONDS, `the job took ${job.seconds.toFixed(1)}s to end (limit ${FAILURE_SECONDS}s): ${describeJob(job)}`);
  assert.match(job.stderr, message, `expected ${message} in stderr: ${describeJob(job)}`);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pfc-mpi-test-'));
}

// --- N ranks against the float64 reference, and against the emulated rank ----------------------

for (const size of [2, 3, 4]) {
  test(`${size} MPI ranks equal the float64 single-process reference; emulated rank r allocates and records what real rank r does`, { skip, timeout: 120_000 }, async () => {
    const dir = tempDir();
    try {
      const job = await mpirun([{ np: size, args: [FC_WORKER, dir] }]);
      assertSucceeded(job);
      const outputs: RankOutput[] = [];
      for (let r = 0; r < size; r++) {
        const path = join(dir, `rank-${r}.json`);
        assert.ok(existsSync(path), `rank ${r} wrote no output: ${describeJob(job)}`);
        outputs.push(JSON.parse(readFileSync(path, 'utf8')) as RankOutput);
        assert.equal(outputs[r].rank, r);
        assert.equal(outputs[r].size, size, `rank ${r} saw world size ${outputs[r].size}`);
      }
      checkAgainstReference(size, outputs);
      checkAgainstEmulation(size, outputs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// --- MPI errors ------------------------------------------------------------------------------

test('an MPI error comes back as a PFC_COMM error naming the rank, and the communicator still works', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const job = await mpirun([{ np: 2, args: [ERRORS_WORKER, 'returned', dir] }]);
    assertSucceeded(job);
    for (const rank of [0, 1]) {
      const out = JSON.parse(readFileSync(join(dir, `rank-${rank}.json`), 'utf8')) as { code: string; message: string; sum: number[] };
      assert.equal(out.code, 'PFC_COMM', `rank ${rank}: ${out.message}`);
      assert.match(out.message, new RegExp(`^MPI: MPI_ERR_ROOT: invalid root in MPI_Bcast \\(rank ${rank}\\)`));
      assert.deepEqual(out.sum, [2, 4, 6, 8], `rank ${rank}: the all-reduce after the error`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an MPI error on one rank ends the whole job within seconds, naming the rank', { skip, timeout: 60_000 }, async () => {
  const job = await mpirun([{ np: 3, args: [ERRORS_WORKER, 'one-rank-fails'] }], HANG_SECONDS);
  assertFailedFast(job, /pfc-bench: rank 1: MPI: MPI_ERR_ROOT: invalid root in MPI_Bcast \(rank 1\)/);
});

// --- pfc-bench run --mode real ------------------------------------------------------------------

function cliArgs(ranks: number, out: string, extra: string[] = []): string[] {
  const options: Record<string, string> = {
    classes: '41',
    batch: String(LOCAL_BATCH * ranks),
    dim: '9',
    strategy: 'partial-fc',
    'sample-rate': '0.3',
    steps: '2',
    warmup: '1',
    backend: 'cpu',
    threads: '1',
    gpus: String(ranks),
    out,
  };
  for (let i = 0; i < extra.length; i += 2) options[extra[i].replace(/^--/, '')] = extra[i + 1];
  return [CLI, 'run', '--mode', 'real', '--no-report', '--quiet', ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, v])];
}

test('a bad option on one rank ends the job within seconds, naming the rank', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'r.json');
    const job = await mpirun([
      { np: 1, args: cliArgs(2, out) },
      { np: 1, args: cliArgs(2, out, ['--strategy', 'modle-parallel']) },
    ], HANG_SECONDS);
    assertFailedFast(job, /pfc-bench: rank 1: --strategy: unknown value 'modle-parallel'/);
    assert.ok(!existsSync(out), 'no results are written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('out of memory on one rank only (--gpu-memory on rank 2): every rank records oom, and the job ends within seconds', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'r.json');
    const job = await mpirun([
      { np: 2, args: cliArgs(3, out) },
      { np: 1, args: cliArgs(3, out, ['--gpu-memory', '4KiB']) },
    ], HANG_SECONDS);
    assert.ok(!job.timedOut, `the job hung: ${describeJob(job)}`);
    assert.ok(job.seconds < FAILURE_SECONDS, `the job took ${job.seconds.toFixed(1)}s: ${describeJob(job)}`);
    assert.equal(job.code, 1, `not every cell completed: exit 1: ${describeJob(job)}`);
    assert.match(job.stderr, /pfc-bench: rank 2: out of memory: allocating \d+ bytes of \w+ on cpu would pass the budget of 4096 bytes/);
    const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
    assert.equal(results.cells.length, 1);
    assert.equal(results.cells[0].status, 'oom');
    assert.match(results.cells[0].error ?? '', /^rank 2: out of memory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--mode real: a cell over --gpu-memory is recorded as oom and the job goes on to the next cell; --resume runs it again', { skip, timeout: 120_000 }, async () => {
  const dir = tempDir();
  try {
    const scenario = join(dir, 'scenario.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'mpi-oom',
        description: 'a cell that does not fit between two that do',
        defaults: { gpus: 2, batch: 2 * LOCAL_BATCH, dim: DIM, strategy: 'model-parallel', backend: 'cpu', steps: 1, warmup: 0, threads: 1 },
        cells: [{ classes: CLASSES }, { classes: 4_000_000, gpuMemory: '64MiB' }, { classes: 2 * CLASSES }],
      }),
    );
    const out = join(dir, 'r.json');
    const args = [CLI, 'run', '--scenario', scenario, '--mode', 'real', '--out', out, '--no-report', '--quiet'];
    const job = await mpirun([{ np: 2, args }], HANG_SECONDS);
    assert.ok(!job.timedOut, `the job hung: ${describeJob(job)}`);
    assert.equal(job.code, 1, describeJob(job));
    const first = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
    assert.deepEqual(first.cells.map((c) => c.status), ['completed', 'oom', 'completed'], `${JSON.stringify(first.cells.map((c) => c.error))} ${describeJob(job)}`);
    assert.match(first.cells[1].error ?? '', /rank \d: out of memory/);
    // --resume keeps the completed cells and runs the oom cell again (it is not completed).
    const again = await mpirun([{ np: 2, args: [...args, '--resume'] }], HANG_SECONDS);
    assert.ok(!again.timedOut, describeJob(again));
    const second = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
    assert.deepEqual(second.cells.map((c) => c.status), ['completed', 'oom', 'completed']);
    assert.equal(second.cells[0].startedAt, first.cells[0].startedAt, 'the completed cell is kept');
    assert.equal(second.cells[2].startedAt, first.cells[2].startedAt, 'the completed cell is kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('options that differ across ranks are detected at start-up, naming the rank', { skip, timeout: 90_000 }, async () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'r.json');
    const classes = await mpirun([
      { np: 2, args: cliArgs(3, out) },
      { np: 1, args: cliArgs(3, out, ['--classes', '43']) },
    ], HANG_SECONDS);
    assertFailedFast(classes, /pfc-bench: rank 2: options differ from rank 0's: cell 1: classes is 43 on rank 2 but 41 on rank 0/);
    const seed = await mpirun([
      { np: 1, args: cliArgs(2, out) },
      { np: 1, args: cliArgs(2, out, ['--seed', '9']) },
    ], HANG_SECONDS);
    assertFailedFast(seed, /pfc-bench: rank 1: options differ from rank 0's: cell 1: seed is 9 on rank 1 but 1 on rank 0/);
    assert.ok(!existsSync(out), 'nothing ran: no results are written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--gpus must equal the MPI world size in real mode', { skip, timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const job = await mpirun([{ np: 2, args: cliArgs(3, join(dir, 'r.json')) }], HANG_SECONDS);
    assertFailedFast(job, /pfc-bench: rank 0: --gpus: 3 does not equal the MPI world size 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pfc-bench run --mode real on 3 ranks: rank 0 reports every rank\'s peak; collectives and memory equal the emulated ranks\'', { skip, timeout: 120_000 }, async () => {
  const dir = tempDir();
  try {
    const ranks = 3;
    const scenario = join(dir, 'scenario.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'mpi-e2e',
        description: 'three strategies on 3 ranks',
        defaults: { classes: CLASSES, gpus: ranks, batch: LOCAL_BATCH * ranks, dim: DIM, sampleRate: 0.3, backend: 'cpu', steps: 2, warmup: 1, threads: 1 },
        matrix: { strategy: ['model-parallel', 'partial-fc', 'data-parallel'] },
      }),
    );
    const realPath = join(dir, 'real.json');
    const job = await mpirun([{ np: ranks, args: [CLI, 'run', '--scenario', scenario, '--mode', 'real', '--out', realPath, '--no-report', '--quiet'] }]);
    assertSucceeded(job);
    assert.equal(job.stdout.split('\n').filter((l) => l.startsWith('results: ')).length, 1, `only rank 0 reports: ${job.stdout}`);
    const real = JSON.parse(readFileSync(realPath, 'utf8')) as ResultsFile;
    assert.deepEqual(real.cells.map((c) => c.spec.strategy), ['model-parallel', 'partial-fc', 'data-parallel'], 'cells in matrix order');
    assert.equal(real.context.backend.mpiRanks, ranks);

    const emulated: ResultsFile[] = [];
    for (let r = 0; r < ranks; r++) {
      const path = join(dir, `emulated-${r}.json`);
      const run = await runProcess(process.execPath, [CLI, 'run', '--scenario', scenario, '--mode', 'emulate', '--rank', String(r), '--out', path, '--no-report', '--quiet'], 120);
      assertSucceeded(run);
      emulated.push(JSON.parse(readFileSync(path, 'utf8')) as ResultsFile);
    }
    real.cells.forEach((cell, i) => {
      const what = `${cell.spec.strategy} (real)`;
      assert.equal(cell.status, 'completed', `${what}: ${cell.error}`);
      assert.ok(Number.isFinite(cell.loss), `${what}: the loss is reported`);
      const perRank = cell.memory?.perRankPeakBytes;
      assert.ok(perRank && perRank.length === ranks, `${what}: every rank's peak`);
      assert.equal(cell.memory!.peakBytes, Math.max(...perRank), `${what}: the headline peak is the largest rank's`);
      const top = perRank.indexOf(cell.memory!.peakBytes);
      for (let r = 0; r < ranks; r++) {
        const twin = emulated[r].cells[i];
        assert.equal(twin.status, 'completed', `emulated rank ${r}: ${twin.error}`);
        assert.equal(perRank[r], twin.memory!.peakBytes, `${what}: rank ${r}'s peak equals emulated rank ${r}'s`);
        // Byte counts are what the communication model consumes: the real run's must be the emulation's.
        assert.deepEqual(cell.communication!.collectives, twin.communication!.collectives, `${what}: collectives vs emulated rank ${r}`);
      }
      assert.deepEqual(cell.memory!.atPeak, emulated[top].cells[i].memory!.atPeak, `${what}: bytes per category of the largest rank`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
