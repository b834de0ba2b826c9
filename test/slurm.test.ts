/**
 * srun for real: the one-node commands of docs/cluster.md (its fenced blocks marked `sh tested`)
 * run as written, modulo paths, and srun's results equal mpirun's:
 * - the doc's blocks hold an mpirun and an srun form of the same `run --mode real` and
 *   `calibrate` commands, and the set-up of a single-node Slurm (scripts/slurm-local.sh start,
 *   SLURM_CONF, stop). This check needs nothing installed and always runs;
 * - a single-node Slurm (munged, slurmctld, slurmd from Debian's slurm-wlm, all files in a temp
 *   folder, free ports) is started by scripts/slurm-local.sh, and stopped at the end whatever
 *   happens; each command is run under mpirun and under srun (--mpi=pmix): the run's results
 *   agree in every deterministic figure (loss, memory per category and per rank, FLOPs, bytes,
 *   collectives, active centres), calibrate's profiles in their structure (the collectives, the
 *   sizes, the counts, no wrong element, the world size, hosts and ranks per node). Timings differ.
 *
 * Skipped, with the reason (and the daemons' log tails) in the skip message, only when mpirun is
 * missing or Slurm cannot start here: slurm-wlm/munge not installed, not root, a daemon that
 * does not come up. CI installs them (scripts/install-system-deps.sh) and runs as root.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { packageRoot } from '../src/core/binding.js';
import { validateProfile, type ProfileFile } from '../src/model/profile-file.js';
import type { ResultsFile } from '../src/bench/results.js';
import { describeJob, mpiSkip, runProcess, type JobResult } from './distributed/launch.js';

const ROOT = packageRoot();
const DOC = join(ROOT, 'docs', 'cluster.md');
const SCRIPT = join(ROOT, 'scripts', 'slurm-local.sh');
const CLI_IN_DOC = 'dist/src/cli.js';
const JOB_SECONDS = 90;

// --- the commands of docs/cluster.md ------------------------------------------------------------

interface DocCommands {
  mpirun: Record<'run' | 'calibrate', string[]>;
  srun: Record<'run' | 'calibrate', string[]>;
  /** The folder of `scripts/slurm-local.sh start DIR`. */
  slurmDir: string;
}

/** The lines of the fenced blocks whose info string is `sh tested`. */
function testedLines(markdown: string): string[] {
  const lines: string[] = [];
  let inside = false;
  for (const line of markdown.split('\n')) {
    if (!inside && /^```sh tested\s*$/.test(line)) inside = true;
    else if (inside && /^```\s*$/.test(line)) inside = false;
    else if (inside && line.trim() && !line.trim().startsWith('#')) lines.push(line.trim());
  }
  assert.ok(!inside, `${DOC}: a \`sh tested\` block is not closed`);
  return lines;
}

function docCommands(): DocCommands {
  const lines = testedLines(readFileSync(DOC, 'utf8'));
  const commands = { mpirun: {}, srun: {} } as DocCommands;
  let start: string | undefined;
  let stop: string | undefined;
  let conf: string | undefined;
  for (const line of lines) {
    assert.doesNotMatch(line, /["'\\$`]/, `${DOC}: a tested command is split on spaces, no quotes or expansions: ${line}`);
    const words = line.split(/\s+/);
    if (words[0] === 'scripts/slurm-local.sh') {
      assert.equal(words.length, 3, line);
      if (words[1] === 'start') start = words[2];
      else if (words[1] === 'stop') stop = words[2];
      else assert.fail(`${DOC}: unknown slurm-local.sh action: ${line}`);
    } else if (words[0] === 'export' && words[1].startsWith('SLURM_CONF=')) {
      conf = words[1].slice('SLURM_CONF='.length);
    } else if (words[0] === 'mpirun' || words[0] === 'srun') {
      const cli = words.indexOf(CLI_IN_DOC);
      assert.ok(cli > 0 && words[cli - 1] === 'node', `${DOC}: expected '${words[0]} ... node ${CLI_IN_DOC} ...': ${line}`);
      const sub = words[cli + 1];
      assert.ok(sub === 'run' || sub === 'calibrate', `${DOC}: a tested ${words[0]} runs 'run' or 'calibrate': ${line}`);
      const launcher = commands[words[0] as 'mpirun' | 'srun'];
      assert.equal(launcher[sub], undefined, `${DOC}: two tested '${words[0]} ... ${sub}' commands`);
      launcher[sub] = words;
    } else {
      assert.fail(`${DOC}: a tested block holds a line this test does not know how to run: ${line}`);
    }
  }
  for (const launcher of ['mpirun', 'srun'] as const) {
    for (const sub of ['run', 'calibrate'] as const) assert.ok(commands[launcher][sub], `${DOC}: no tested '${launcher} ... ${sub}' command`);
  }
  assert.ok(start, `${DOC}: no tested 'scripts/slurm-local.sh start DIR'`);
  assert.equal(stop, start, `${DOC}: the tested block stops the Slurm it started`);
  assert.equal(conf, `${start}/slurm.conf`, `${DOC}: SLURM_CONF is the started Slurm's slurm.conf`);
  commands.slurmDir = start!;
  return commands;
}

/** The words after `node dist/src/cli.js`, --out's value dropped. */
function cliWords(words: string[]): string[] {
  const rest = words.slice(words.indexOf(CLI_IN_DOC) + 1);
  const out = rest.indexOf('--out');
  assert.ok(out >= 0 && rest[out + 1], `--out is given: ${words.join(' ')}`);
  return [...rest.slice(0, out), ...rest.slice(out + 2)];
}

/** The ranks the launcher starts (-np N / -n N) and --gpus. */
function launch(words: string[]): { ranks: number; gpus: number | undefined } {
  const flag = words[0] === 'mpirun' ? '-np' : '-n';
  const ranks = Number(words[words.indexOf(flag) + 1]);
  const gpus = words.includes('--gpus') ? Number(words[words.indexOf('--gpus') + 1]) : undefined;
  return { ranks, gpus };
}

/** The doc's command with this checkout's paths: node, the CLI, --out in `dir`. Returns [command, argv, out]. */
function localized(words: string[], dir: string): [string, string[], string] {
  const argv = words.slice(1).map((w) => (w === 'node' ? process.execPath : w === CLI_IN_DOC ? join(ROOT, CLI_IN_DOC) : w));
  const out = argv.indexOf('--out');
  argv[out + 1] = join(dir, basename(argv[out + 1]));
  return [words[0], argv, argv[out + 1]];
}

test('docs/cluster.md: the tested one-node commands are the same under mpirun and srun, and srun goes through a local Slurm', () => {
  const doc = docCommands();
  for (const sub of ['run', 'calibrate'] as const) {
    assert.deepEqual(cliWords(doc.srun[sub]), cliWords(doc.mpirun[sub]), `${sub}: srun's arguments are mpirun's`);
    const m = launch(doc.mpirun[sub]);
    const s = launch(doc.srun[sub]);
    assert.equal(s.ranks, m.ranks, `${sub}: as many ranks under srun as under mpirun`);
    assert.ok(m.ranks >= 2, `${sub}: at least 2 ranks`);
    if (sub === 'run') assert.equal(m.gpus, m.ranks, '--gpus equals the world size');
    assert.ok(doc.srun[sub].includes('--mpi=pmix'), `${sub}: srun --mpi=pmix`);
  }
  assert.ok(cliWords(doc.mpirun.run).join(' ').includes('--mode real'), 'run --mode real');
});

// --- a single-node Slurm --------------------------------------------------------------------------

/** A TCP port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** This environment without any Slurm job's variables (a test run inside a job must not use its allocation). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(SLURM|SBATCH|SALLOC|SRUN)_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const slurmDir = mkdtempSync(join(tmpdir(), 'pfc-slurm-'));
let slurmRunning = false;

function stopSlurm(): void {
  if (!slurmRunning) return;
  slurmRunning = false;
  const r = spawnSync('bash', [SCRIPT, 'stop', slurmDir], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) process.stderr.write(`test/slurm.test.ts: stopping Slurm: ${r.error ?? ''}${r.stderr}\n`);
}

/** Starts the local Slurm; false when it runs, else why it could not start. */
async function startSlurm(): Promise<string | false> {
  if (mpiSkip) return mpiSkip;
  const env = cleanEnv({ SLURMCTLD_PORT: String(await freePort()), SLURMD_PORT: String(await freePort()), SLURM_START_TIMEOUT: '30' });
  slurmRunning = true; // from here on, stop whatever part of it started
  const r = spawnSync('bash', [SCRIPT, 'start', slurmDir], { encoding: 'utf8', env, timeout: 60_000 });
  if (r.status === 0) return false;
  stopSlurm();
  const why = r.error ? `${r.error.message} (scripts/slurm-local.sh start did not end within 60 s)` : `exit ${r.status}`;
  return `Slurm could not start on this machine (scripts/slurm-local.sh start: ${why}):\n${r.stderr.trim()}`;
}

const skip = await startSlurm();
if (skip) process.stderr.write(`test/slurm.test.ts: SKIPPED, ${skip}\n`);
// Stop the daemons however this process ends: the tests' end, an exception, SIGTERM/SIGINT.
process.once('exit', stopSlurm);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stopSlurm();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}
after(() => {
  stopSlurm();
  rmSync(slurmDir, { recursive: true, force: true });
});

const srunEnv = () => cleanEnv({ SLURM_CONF: join(slurmDir, 'slurm.conf') });

/** Runs the doc's command (paths made local) and returns its job and --out path. */
async function runDocCommand(words: string[], dir: string): Promise<{ job: JobResult; out: string }> {
  const [command, argv, out] = localized(words, dir);
  const job = await runProcess(command, argv, JOB_SECONDS, command === 'srun' ? srunEnv() : cleanEnv());
  assert.ok(!job.timedOut && job.code === 0, `${command} ${argv.join(' ')} failed: ${describeJob(job)}`);
  assert.ok(existsSync(out), `${command}: rank 0 wrote no ${out}: ${describeJob(job)}`);
  return { job, out };
}

/** What a results file holds that does not depend on timing. */
function deterministic(file: ResultsFile) {
  return {
    overrides: file.scenario.overrides,
    mpiRanks: file.context.backend.mpiRanks,
    mpi: file.context.backend.mpi,
    cells: file.cells.map((c) => ({
      id: c.id,
      status: c.status,
      spec: c.spec,
      loss: c.loss,
      activeCentres: c.activeCentres,
      memory: c.memory && { peakBytes: c.memory.peakBytes, atPeak: c.memory.atPeak, modelBytes: c.memory.modelBytes, perRankPeakBytes: c.memory.perRankPeakBytes },
      work: c.work && { flopsPerStep: c.work.flopsPerStep, bytesPerStep: c.work.bytesPerStep },
      collectives: c.communication?.collectives,
      communicationTiming: c.timing?.communication,
    })),
  };
}

/** What a profile holds that does not depend on timing. */
function structure(p: ProfileFile) {
  return {
    schema: p.schema,
    schemaVersion: p.schemaVersion,
    name: p.name,
    gpusPerNode: p.gpusPerNode,
    fitted: Object.keys(p.collectives ?? {}),
    rows: (p.measurements ?? []).map((r) => `${r.collective} ${r.bytes} B ${r.count} wrong ${r.wrong}`),
    ranks: p.context?.ranks,
    hosts: p.context?.hosts,
    ranksPerNode: p.context?.ranksPerNode,
    backend: p.context?.backend,
    mpi: p.context?.libraries.mpi,
    iterations: p.context?.iterations,
    warmupIterations: p.context?.warmupIterations,
  };
}

test('srun -n 2 run --mode real (docs/cluster.md) gives the results mpirun -np 2 gives', { skip, timeout: 240_000 }, async () => {
  const doc = docCommands();
  const dir = mkdtempSync(join(tmpdir(), 'pfc-srun-run-'));
  try {
    const viaMpirun = await runDocCommand(doc.mpirun.run, dir);
    const viaSrun = await runDocCommand(doc.srun.run, dir);
    const m = JSON.parse(readFileSync(viaMpirun.out, 'utf8')) as ResultsFile;
    const s = JSON.parse(readFileSync(viaSrun.out, 'utf8')) as ResultsFile;
    const ranks = launch(doc.srun.run).ranks;
    assert.equal(s.context.backend.mpiRanks, ranks, `srun started one MPI world of ${ranks} ranks`);
    assert.ok(s.cells.length > 0);
    for (const cell of s.cells) {
      assert.equal(cell.status, 'completed', `${cell.id}: ${cell.error ?? ''}`);
      assert.ok(Number.isFinite(cell.loss), `${cell.id}: a loss is recorded`);
      assert.equal(cell.memory?.perRankPeakBytes?.length, ranks, `${cell.id}: every rank's peak`);
      assert.ok((cell.communication?.collectives.length ?? 0) > 0, `${cell.id}: collectives recorded`);
    }
    assert.deepEqual(deterministic(s), deterministic(m), 'srun and mpirun: the deterministic figures');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('srun -n 2 calibrate (docs/cluster.md) measures what mpirun -np 2 calibrate measures', { skip, timeout: 240_000 }, async () => {
  const doc = docCommands();
  const dir = mkdtempSync(join(tmpdir(), 'pfc-srun-calibrate-'));
  try {
    const viaMpirun = await runDocCommand(doc.mpirun.calibrate, dir);
    const viaSrun = await runDocCommand(doc.srun.calibrate, dir);
    const m = validateProfile(JSON.parse(readFileSync(viaMpirun.out, 'utf8')), viaMpirun.out);
    const s = validateProfile(JSON.parse(readFileSync(viaSrun.out, 'utf8')), viaSrun.out);
    const ranks = launch(doc.srun.calibrate).ranks;
    assert.equal(s.context?.ranks, ranks, `srun started one world of ${ranks} ranks`);
    assert.deepEqual(structure(s).fitted, ['allGather', 'reduceScatter', 'allReduce', 'broadcast']);
    assert.ok((s.measurements ?? []).every((r) => r.wrong === 0 && r.timeUs > 0), 'every size measured, every result right');
    assert.deepEqual(structure(s), structure(m), 'srun and mpirun: the collectives, sizes and world');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
