/** `pfc-bench info`: every run-time library listed with found/path/version, and bad arguments refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InfoReport } from '../src/info.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = (...args: string[]) => spawnSync('node', ['dist/src/cli.js', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

test('info --json lists each run-time library: OpenBLAS found with its version, the rest found or with a reason', () => {
  const r = cli('info', '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as InfoReport;
  assert.deepEqual(report.libraries.map((l) => l.name), ['OpenBLAS', 'MPI', 'cuBLAS', 'NCCL', 'CUDA driver', 'CUDA runtime']);
  const openblas = report.libraries[0];
  assert.equal(openblas.found, true);
  assert.match(openblas.version, /OpenBLAS \d+\.\d+/);
  assert.match(openblas.path, /libopenblas/);
  for (const l of report.libraries) {
    if (l.found) assert.ok(l.version.length > 0, `${l.name} found without a version`);
    else assert.ok(l.note.length > 10, `${l.name} missing without a reason`);
  }
  const mpi = report.libraries[1];
  if (report.build.mpi && mpi.found) assert.match(mpi.path, /libmpi\.so/);
});

test('info prints a readable listing, and refuses an unknown argument naming it', () => {
  const text = cli('info');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /run-time libraries:\n\s+OpenBLAS\s+found/);
  const bad = cli('info', '--jsno');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--jsno: unknown option for 'info' \(did you mean '--json'\?\); the only option is --json/);
  const junk = cli('info', 'junk');
  assert.equal(junk.status, 2);
  assert.match(junk.stderr, /info: unexpected argument 'junk'/);
});

test('info shows the CPU signature in one line, and --json holds it as every results file does', async () => {
  const r = cli('info', '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as InfoReport;
  const s = report.cpuSignature;
  assert.ok(s.vendor.length > 0 && s.model.length > 0);
  for (const flag of ['avx2', 'avx512f', 'avx512_bf16', 'amx'] as const) assert.equal(typeof s.flags[flag], 'boolean');
  const openblas = report.libraries[0];
  assert.ok(openblas.version.includes(` ${s.blasCore} `), `BLAS core ${s.blasCore} from '${openblas.version}'`);
  assert.equal(typeof s.simd, 'string');
  const text = cli('info');
  const { formatCpuSignature } = await import('../src/bench/signature.js');
  assert.ok(text.stdout.split('\n').includes(`CPU signature: ${formatCpuSignature(s)}`), text.stdout);
  const { runContext } = await import('../src/bench/context.js');
  assert.deepEqual(runContext({}).cpuSignature, s);
});

test('OPENBLAS_CORETYPE forces another BLAS core, and the signature names it', () => {
  const r = spawnSync('node', ['dist/src/cli.js', 'info', '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, OPENBLAS_CORETYPE: 'Haswell' } });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as InfoReport;
  if (!/DYNAMIC_ARCH/.test(report.libraries[0].version)) return; // a fixed-core OpenBLAS ignores it
  assert.equal(report.cpuSignature.blasCore, 'Haswell');
});

test('info names the simulated device: its addon is built beside the core, and the text says its times mean nothing', () => {
  const json = cli('info', '--json');
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout) as InfoReport;
  assert.equal(report.simulatedDevice.available, true, `missing: ${report.simulatedDevice.addon}`);
  assert.match(report.simulatedDevice.addon, /pfc_sim\.node$/);
  const text = cli('info');
  assert.match(text.stdout, /^simulated device: --backend cuda-sim runs the CUDA kernels on the CPU .*its times mean nothing for a GPU$/m);
});
