/**
 * `pfc-bench calibrate` and the fidelity check on real Open MPI ranks (mpirun, CPU):
 * - 4 ranks: every collective at every size from 16 B (8 B for all-reduce, broadcast) to
 *   --max-bytes, every result checked (#wrong 0), busbw = algbw x nccl-tests' factor, a fit
 *   per collective, the context (hosts, ranks per node, MPI version), the table and the chart;
 * - the plumbing of the fidelity check: a real run reports its collectives' measured time
 *   (not 0), the emulated run with --interconnect PROFILE records the file's content and models
 *   with its fitted values, and the modeled byte counts equal the measured ones. No timing
 *   agreement is asserted: that is the benchmark's business (scripts/fidelity.sh);
 * - one rank: nothing to measure, exit 0; a rank that fails mid-calibration (its buffers pass
 *   its --gpu-memory) ends the job within seconds naming itself; ranks with different options
 *   are refused.
 * Skipped only when mpirun is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateProfile, COLLECTIVE_KINDS, type ProfileFile } from '../src/model/profile-file.js';
import { busFactor, ringHops } from '../src/model/comm.js';
import type { ResultsFile } from '../src/bench/results.js';
import type { FidelityFile } from '../src/calibrate/fidelity.js';
import { FAILURE_SECONDS, describeJob as describe, mpiSkip, mpirun, runProcess } from './distributed/launch.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const skip = mpiSkip;

/** mpirun of the CLI, one app block per entry (ranks, then the CLI's arguments). */
const mpirunCli = (apps: { np: number; args: string[] }[], timeoutSeconds = 120) => mpirun(apps.map((a) => ({ np: a.np, args: [CLI, ...a.args] })), timeoutSeconds);

const calibrateArgs = (out: string, extra: string[] = []) => ['calibrate', '--backend', 'cpu', '--max-bytes', '4KiB', '--iters', '3', '--warmup-iters', '1', '--quiet', '--out', out, ...extra];

const CELLS = ['--gpus', '4', '--classes', '103', '--batch', '16', '--dim', '8', '--strategy', 'model-parallel', '--steps', '3', '--warmup', '1', '--backend', 'cpu', '--threads', '1', '--quiet', '--no-report'];

test('calibrate on 4 ranks, then the fidelity plumbing: measured real communication, the profile used, equal byte counts', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-calibrate-'));
  try {
    const profilePath = join(dir, 'profile.json');
    const cal = await mpirunCli([{ np: 4, args: calibrateArgs(profilePath) }]);
    assert.equal(cal.code, 0, describe(cal));
    const profile = validateProfile(JSON.parse(readFileSync(profilePath, 'utf8')), profilePath) as ProfileFile;
    const rows = profile.measurements!;
    for (const kind of COLLECTIVE_KINDS) {
      const sizes = rows.filter((r) => r.collective === kind).map((r) => r.bytes);
      const smallest = kind === 'allGather' || kind === 'reduceScatter' ? 16 : 8; // 4 ranks x one fp32 each
      assert.deepEqual(sizes, [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096].filter((s) => s >= smallest), `${kind}: every size`);
      const fit = profile.collectives![kind]!;
      assert.ok(fit.alpha >= 0 && fit.busBandwidth > 0, `${kind}: fitted ${JSON.stringify(fit)}`);
      assert.match(cal.stdout, new RegExp(`^\\s*${kind}\\s+4096\\s+1024\\s+float\\s`, 'm'), `${kind}: the table's 4 KiB row`);
    }
    for (const r of rows) {
      assert.equal(r.wrong, 0, `${r.collective} ${r.bytes} B: every result element as expected`);
      assert.ok(r.timeUs > 0);
      assert.ok(Math.abs(r.algbw - r.bytes / (r.timeUs / 1e6) / 1e9) <= 1e-9 * r.algbw, 'algbw = bytes / time');
      assert.ok(Math.abs(r.busbw - r.algbw * busFactor(r.collective, 4)) <= 1e-12 * r.busbw, 'busbw = algbw x factor');
    }
    assert.equal(profile.context!.ranks, 4);
    assert.equal(profile.context!.hosts.length, 1);
    assert.equal(profile.context!.ranksPerNode, 4);
    assert.match(profile.context!.libraries.mpi, /Open MPI/);
    assert.match(cal.stdout, /collective\s+size\(B\)\s+count\s+type\s+redop\s+root\s+time\(us\)\s+algbw\(GB\/s\)\s+busbw\(GB\/s\)\s+#wrong/);
    assert.match(readFileSync(join(dir, 'profile-busbw.svg'), 'utf8'), /^<svg/);

    // Real run: each collective timed alone, reported instead of 0.
    const realPath = join(dir, 'real.json');
    const real = await mpirunCli([{ np: 4, args: ['run', '--mode', 'real', ...CELLS, '--out', realPath] }]);
    assert.equal(real.code, 0, describe(real));
    const realCell = (JSON.parse(readFileSync(realPath, 'utf8')) as ResultsFile).cells[0];
    const measured = realCell.communication!;
    assert.equal(realCell.timing!.communication, 'measured');
    assert.equal(measured.measuredMsEach!.length, measured.collectives.length);
    assert.ok(measured.measuredMsEach!.every((ms) => ms > 0), `every collective's time: ${measured.measuredMsEach}`);
    assert.equal(realCell.timing!.phasesMs.communication, measured.measuredMs);
    assert.ok(measured.measuredMs! > 0);

    // Emulated with the profile: its content recorded and used.
    const emulatedPath = join(dir, 'emulated.json');
    const emulated = await runProcess(process.execPath, [CLI, 'run', '--mode', 'emulate', '--rank', '0', '--interconnect', profilePath, ...CELLS, '--out', emulatedPath], 120);
    assert.equal(emulated.code, 0, describe(emulated));
    const emulatedCell = (JSON.parse(readFileSync(emulatedPath, 'utf8')) as ResultsFile).cells[0];
    const recorded = emulatedCell.communication!.interconnect!;
    assert.equal(recorded.name, profile.name);
    assert.deepEqual(recorded.collectives, profile.collectives, 'the fitted values are recorded in the results');
    assert.equal(recorded.file!.sha256, createHash('sha256').update(readFileSync(profilePath)).digest('hex'));
    const modeledFromFile = emulatedCell.communication!.collectives.reduce((s, c) => {
      const fit = profile.collectives![c.kind]!;
      return s + (ringHops(c.kind, 4) * fit.alpha + (busFactor(c.kind, 4) * c.bytes) / fit.busBandwidth) * 1000;
    }, 0);
    assert.ok(Math.abs(emulatedCell.timing!.modeledCommMs - modeledFromFile) <= 1e-9 * modeledFromFile, 'modeled with the file\'s fitted values');

    // The comparison: per collective, equal bytes, both times, their ratio.
    const fidelityPath = join(dir, 'fidelity.json');
    const fid = await runProcess(process.execPath, [CLI, 'fidelity', realPath, emulatedPath, '--out', fidelityPath], 60);
    assert.equal(fid.code, 0, describe(fid));
    const f = JSON.parse(readFileSync(fidelityPath, 'utf8')) as FidelityFile;
    assert.equal(f.cells.length, 1);
    assert.deepEqual(f.unmatched, []);
    const cell = f.cells[0];
    assert.deepEqual(cell.collectives.map((c) => c.label), ['features', 'labels', 'rowMax', 'rowSum+targetLogit', 'featureGrad']);
    for (const c of cell.collectives) {
      assert.ok(c.bytesEqual && c.measuredBytes === c.modeledBytes, `${c.label}: modeled bytes ${c.modeledBytes} = measured ${c.measuredBytes}`);
      assert.ok(c.measuredMs > 0 && c.modeledMs > 0 && Math.abs(c.ratio - c.modeledMs / c.measuredMs) < 1e-12);
    }
    assert.equal(cell.profileFile!.path, profilePath);
    assert.match(fid.stdout, /Modeled\/measured/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('calibrate on one rank under mpirun: nothing to measure, exit 0, no file', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-calibrate-'));
  try {
    const out = join(dir, 'p.json');
    const job = await mpirunCli([{ np: 1, args: calibrateArgs(out) }], 60);
    assert.equal(job.code, 0, describe(job));
    assert.match(job.stdout, /one rank, nothing to measure/);
    assert.ok(!existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rank that fails mid-calibration ends the job within seconds, naming itself; differing options and too small a --max-bytes are refused', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-calibrate-'));
  try {
    const out = join(dir, 'p.json');
    // Rank 2's budget holds the small sizes only: it runs out of memory part way through the sweep.
    const job = await mpirunCli([{ np: 2, args: calibrateArgs(out) }, { np: 1, args: calibrateArgs(out, ['--gpu-memory', '1KiB']) }], 60);
    assert.notEqual(job.code, 0, describe(job));
    assert.ok(job.seconds < FAILURE_SECONDS, describe(job));
    assert.match(job.stderr, /pfc-bench: rank 2: out of memory: allocating \d+ bytes of communication on cpu would pass the budget of 1024 bytes/);
    assert.ok(!existsSync(out), 'no profile is written');
    const differ = await mpirunCli([{ np: 1, args: calibrateArgs(out) }, { np: 1, args: calibrateArgs(out).map((a, i, all) => (all[i - 1] === '--iters' ? '4' : a)) }], 60);
    assert.equal(differ.code, 2, describe(differ));
    assert.match(differ.stderr, /pfc-bench: rank 1: calibrate: options differ from rank 0's/);
    // Too small a --max-bytes to give each rank an element: a usage error, not a failed fit.
    const tiny = await mpirunCli([{ np: 4, args: calibrateArgs(out).map((a, i, all) => (all[i - 1] === '--max-bytes' ? '8' : a)) }], 60);
    assert.equal(tiny.code, 2, describe(tiny));
    assert.match(tiny.stderr, /--max-bytes: expected at least 16 bytes on 4 ranks/);
    assert.ok(!existsSync(out), 'no profile is written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
