/**
 * Interconnect profiles without MPI: the fit recovers the alpha and bus bandwidth a row set was
 * made from; the model uses a profile file's fitted values; the result checker counts a wrong
 * element; a bad profile file is refused with the field named (exit 2 from the CLI); calibrate
 * started without a launcher is one rank with nothing to measure (exit 0); fidelity pairs cells
 * of the same configuration, logits included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitCollective } from '../src/calibrate/fit.js';
import { CALIBRATED_COLLECTIVES, countWrong } from '../src/calibrate/collectives.js';
import { calibrationSizes } from '../src/calibrate/measure.js';
import { busFactor, collectiveSeconds, interconnect, ringHops } from '../src/model/comm.js';
import { PROFILE_SCHEMA, validateProfile, type CalibrationRow } from '../src/model/profile-file.js';
import { COLLECTIVE_KINDS } from '../src/model/profile-file.js';
import { UsageError } from '../src/core/errors.js';
import { fidelity } from '../src/calibrate/fidelity.js';
import type { CellResult, ResultsFile } from '../src/bench/results.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function pfc(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Rows exactly on the model's curve for (alpha, busbw) on `ranks` ranks. */
function modelRows(kind: (typeof COLLECTIVE_KINDS)[number], alpha: number, busbw: number, ranks: number): CalibrationRow[] {
  return calibrationSizes(8, 2 ** 24).map((bytes) => {
    const seconds = ringHops(kind, ranks) * alpha + (busFactor(kind, ranks) * bytes) / busbw;
    const algbw = bytes / seconds / 1e9;
    return { collective: kind, bytes, count: bytes / 4, timeUs: seconds * 1e6, algbw, busbw: algbw * busFactor(kind, ranks), wrong: 0 };
  });
}

function goodProfile(): Record<string, unknown> {
  return {
    schema: PROFILE_SCHEMA,
    schemaVersion: 1,
    name: 'lab',
    alpha: 5e-6,
    intraNodeBandwidth: 2e9,
    interNodeBandwidth: 2e9,
    gpusPerNode: 4,
    collectives: { allReduce: { alpha: 3e-6, busBandwidth: 1.5e9 }, allGather: { alpha: 2e-6, busBandwidth: 3e9 } },
    measurements: [...modelRows('allReduce', 3e-6, 1.5e9, 4).slice(0, 3)],
  };
}

test('the fit recovers alpha and bus bandwidth from rows on the model, for every collective and rank count', () => {
  for (const kind of COLLECTIVE_KINDS) {
    for (const ranks of [2, 4, 8]) {
      const fit = fitCollective(kind, modelRows(kind, 7e-6, 3.2e9, ranks), ranks);
      assert.ok(Math.abs(fit.alpha - 7e-6) / 7e-6 < 1e-6, `${kind} on ${ranks}: alpha ${fit.alpha}`);
      assert.ok(Math.abs(fit.busBandwidth - 3.2e9) / 3.2e9 < 1e-6, `${kind} on ${ranks}: busbw ${fit.busBandwidth}`);
      assert.ok(fit.relativeError < 1e-6);
    }
  }
  // Noise that would make the latency negative is clamped: alpha 0, the bandwidth still fitted.
  const rows = modelRows('allGather', 0, 1e9, 4).map((r, i) => ({ ...r, timeUs: r.timeUs * (i === 0 ? 0.5 : 1) }));
  const fit = fitCollective('allGather', rows, 4);
  assert.ok(fit.alpha >= 0 && fit.busBandwidth > 0);
});

test('nccl-tests bus-bandwidth factors', () => {
  assert.equal(busFactor('allReduce', 4), 1.5);
  assert.equal(busFactor('allGather', 4), 0.75);
  assert.equal(busFactor('reduceScatter', 8), 7 / 8);
  assert.equal(busFactor('broadcast', 8), 1);
});

test('a profile file feeds its fitted values per collective to the model; the others use the profile-wide ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-profile-'));
  try {
    const path = join(dir, 'lab.json');
    writeFileSync(path, JSON.stringify(goodProfile()));
    const p = interconnect(path);
    assert.equal(p.name, 'lab');
    assert.equal(p.file?.path, path);
    assert.match(p.file?.sha256 ?? '', /^[0-9a-f]{64}$/);
    const n = 1 << 20;
    const allReduce = collectiveSeconds({ kind: 'allReduce', label: 'x', bytes: n, ranks: 4 }, p);
    assert.ok(Math.abs(allReduce - (6 * 3e-6 + 1.5 * (n / 1.5e9))) < 1e-12);
    const broadcast = collectiveSeconds({ kind: 'broadcast', label: 'x', bytes: n, ranks: 4 }, p);
    assert.ok(Math.abs(broadcast - (3 * 5e-6 + n / 2e9)) < 1e-12, 'broadcast has no fit: profile-wide alpha and bandwidth');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each collective\'s checker accepts its own expected result and counts one changed element', () => {
  const ranks = 4;
  for (const c of CALIBRATED_COLLECTIVES) {
    const { recv } = c.counts(256, ranks);
    for (let rank = 0; rank < ranks; rank++) {
      const result = Float32Array.from({ length: recv }, (_, i) => c.expected(rank, ranks, recv, i));
      assert.equal(countWrong(c, result, rank, ranks), 0, `${c.kind} rank ${rank}`);
      result[recv - 1] += 1;
      assert.equal(countWrong(c, result, rank, ranks), 1, `${c.kind} rank ${rank}: one wrong element`);
    }
  }
});

test('bad profile files are refused with the field named', () => {
  const bad = (change: (p: Record<string, unknown>) => void, message: RegExp) => {
    const p = goodProfile();
    change(p);
    assert.throws(() => validateProfile(p, 'lab.json'), (e: unknown) => e instanceof UsageError && e.option === '--interconnect' && message.test(e.message), String(message));
  };
  bad((p) => delete p.intraNodeBandwidth, /lab\.json: field 'intraNodeBandwidth': expected a number > 0, got nothing \(missing\)/);
  bad((p) => (p.alpha = -1e-6), /field 'alpha': expected a number >= 0, got -0\.000001/);
  bad((p) => ((p.collectives as Record<string, { busBandwidth: number }>).allReduce.busBandwidth = -3), /field 'collectives\.allReduce\.busBandwidth': expected a number > 0, got -3/);
  bad((p) => ((p.collectives as Record<string, unknown>).allToAll = { alpha: 0, busBandwidth: 1 }), /field 'collectives\.allToAll': unknown collective/);
  bad((p) => (p.gpusPerNode = 2.5), /field 'gpusPerNode': expected an integer >= 1/);
  bad((p) => delete p.name, /field 'name': expected a non-empty string/);
  bad((p) => (p.schema = 'pfc-bench/results'), /field 'schema': expected "pfc-bench\/interconnect"/);
  bad((p) => (p.measurements as CalibrationRow[]).reverse(), /field 'measurements\[1\]\.bytes': sizes out of order: 16 follows 32 for allReduce/);
  bad((p) => ((p.measurements as CalibrationRow[])[2].timeUs = -1), /field 'measurements\[2\]\.timeUs': expected a number >= 0/);
});

test('run --interconnect FILE: a bad file exits 2 naming the field before anything runs; a missing one names the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-profile-'));
  try {
    const path = join(dir, 'bad.json');
    const p = goodProfile();
    (p.collectives as Record<string, { alpha: number }>).allGather.alpha = -2;
    writeFileSync(path, JSON.stringify(p));
    const out = join(dir, 'r.json');
    const r = pfc(['run', '--mode', 'emulate', '--gpus', '4', '--classes', '100', '--batch', '8', '--dim', '4', '--interconnect', path, '--out', out, '--no-report']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--interconnect: .*bad\.json: field 'collectives\.allGather\.alpha': expected a number >= 0, got -2/);
    assert.ok(!existsSync(out), 'nothing ran');
    const missing = pfc(['run', '--interconnect', join(dir, 'none.json'), '--out', out]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--interconnect: cannot read the profile file '.*none\.json': ENOENT/);
    const name = pfc(['run', '--interconnect', 'nvlink-h10', '--out', out]);
    assert.equal(name.code, 2);
    assert.match(name.err, /--interconnect: unknown value 'nvlink-h10'.*did you mean 'nvlink-h100'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('calibrate without a launcher is one rank: nothing to measure, exit 0, no file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-profile-'));
  try {
    const launcher = ['OMPI_COMM_WORLD_RANK', 'PMIX_RANK', 'PMI_RANK', 'MV2_COMM_WORLD_RANK', 'SLURM_PROCID'];
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !launcher.includes(k)));
    const r = pfc(['calibrate', '--out', join(dir, 'p.json')], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /one rank, nothing to measure/);
    assert.deepEqual(readdirSync(dir), []);
    const help = pfc(['calibrate', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--max-bytes/);
    const bad = pfc(['calibrate', '--max-bytes', '4', '--min-bytes', '8']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--max-bytes: expected at least --min-bytes \(8\), got 4/);
    const folder = pfc(['calibrate', '--out', `${dir}/`]);
    assert.equal(folder.code, 2);
    assert.match(folder.err, /--out: '.*\/' is a folder; expected the path of a profile file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report PROFILE.json draws busbw against size from the file (measured and fitted lines)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-profile-'));
  try {
    const path = join(dir, 'lab.json');
    writeFileSync(path, JSON.stringify(goodProfile()));
    const r = pfc(['report', path, '--out', join(dir, 'out'), '--format', 'svg']);
    assert.equal(r.code, 0, r.err);
    const svgPath = join(dir, 'out', 'lab-busbw.svg');
    assert.match(r.out, new RegExp(`report: ${svgPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const svg = readFileSync(svgPath, 'utf8');
    assert.match(svg, /^<svg/);
    assert.match(svg, /Bus bandwidth against message size: lab/);
    assert.match(svg, /allReduce/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fidelity pairs each real cell with the emulated cell of the same logits (a fused twin is not a materialized one)', () => {
  const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../test/fixtures/report-results.json', import.meta.url)), 'utf8')) as ResultsFile;
  const base = fixture.cells.find((c) => c.status === 'completed' && c.spec.strategy === 'model-parallel' && c.communication?.collectives.length)!;
  const clone = (): CellResult => JSON.parse(JSON.stringify(base)) as CellResult;
  const real = clone();
  real.id = 'real-materialized';
  real.spec.mode = 'real';
  real.communication!.measuredMsEach = real.communication!.collectives.map(() => 1);
  real.communication!.measuredMs = real.communication!.collectives.length;
  const materialized = clone();
  materialized.id = 'emulated-materialized';
  const fused = clone();
  fused.id = 'emulated-fused';
  fused.spec.logits = 'fused';
  fused.spec.tile = 64;
  const dir = mkdtempSync(join(tmpdir(), 'pfc-fidelity-'));
  try {
    const realPath = join(dir, 'real.json');
    const emulatedPath = join(dir, 'emulated.json');
    writeFileSync(realPath, JSON.stringify({ ...fixture, cells: [real] }));
    // The fused twin last: matched on the materialized fields alone it would replace the other.
    writeFileSync(emulatedPath, JSON.stringify({ ...fixture, cells: [materialized, fused] }));
    const result = fidelity(realPath, emulatedPath);
    assert.deepEqual(result.cells.map((c) => [c.real, c.emulated]), [['real-materialized', 'emulated-materialized']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
