/**
 * The native bundle a GPU host loads (scripts/bundle.sh, used by scripts/gpu-prepare.sh): its
 * load-time dependencies are glibc/libstdc++/libgcc or files inside it, and it loads, answers
 * `info` and runs the GPU check's first two outcomes with OpenBLAS and MPI out of reach (hidden
 * in a mount namespace, as on the lent GPU machine, which has neither).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { core, type RuntimeLibrary } from '../src/core/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const build = join(root, 'build', 'Release');
const SYSTEM = /^(libc|libm|libdl|libpthread|librt|libutil|libresolv|ld-linux-x86-64|ld-linux-aarch64|libstdc\+\+|libgcc_s)\.so/;

function needed(file: string): string[] {
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `readelf -d ${file}: ${r.stderr}`);
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

function makeBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-bundle-'));
  const r = spawnSync('bash', [join(root, 'scripts', 'bundle.sh'), build, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

// Hides OpenBLAS, Highway, MPI and the GCC run-time libraries OpenBLAS needs, then runs the command.
const HIDE = `set -e
L=/usr/lib/x86_64-linux-gnu
for d in $L/openblas-openmp $L/openblas-pthread $L/openmpi; do [ -d "$d" ] && mount -t tmpfs none "$d"; done
for f in $L/libopenblas*.so* $L/libblas.so* $L/liblapack.so* $L/libmpi*.so* $L/libopen-pal.so* $L/libopen-rte.so* \\
         $L/libgfortran.so* $L/libgomp.so* $L/libquadmath.so* $L/libhwy*.so*; do [ -e "$f" ] && mount --bind /dev/null "$f"; done
exec "$@"
`;
const namespaces = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;
const noNamespace = !namespaces && 'unshare -m is not permitted here (needs root): the hidden-library runs cannot be made';
const deviceHere = core().cudaProbe().usable;

function hidden(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-hide-'));
  const script = join(dir, 'hide.sh');
  writeFileSync(script, HIDE);
  try {
    return spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', script, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the addon itself needs no MPI: only pfc_mpi.so links libmpi', () => {
  assert.ok(!needed(join(build, 'pfc_core.node')).some((n) => n.startsWith('libmpi')), 'pfc_core.node NEEDs libmpi');
  if (existsSync(join(build, 'pfc_mpi.so'))) assert.ok(needed(join(build, 'pfc_mpi.so')).some((n) => n.startsWith('libmpi')));
});

test("every library the bundle needs is glibc/libstdc++/libgcc or a file inside it", () => {
  const dir = makeBundle();
  try {
    const files = readdirSync(dir);
    assert.ok(['pfc_core.node', 'libopenblas.so.0', 'libhwy.so.1'].every((f) => files.includes(f)), `bundle holds ${files.join(', ')}`);
    for (const file of files) {
      // The MPI plugin is optional by design: it loads only where libmpi is.
      const outside = needed(join(dir, file)).filter((n) => !SYSTEM.test(n) && !files.includes(n) && !(file === 'pfc_mpi.so' && n.startsWith('libmpi')));
      assert.deepEqual(outside, [], `${file} needs ${outside.join(', ')} from outside the bundle`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with OpenBLAS, Highway and MPI hidden, the plain build fails to load and the bundle answers info, its kernels dispatched', { skip: noNamespace }, () => {
  const dir = makeBundle();
  try {
    // The hiding works: the ordinary build cannot find OpenBLAS.
    const plain = hidden(['node', 'dist/src/cli.js', 'info', '--json']);
    assert.notEqual(plain.status, 0);
    assert.match(plain.stderr, /failed to load: .*libopenblas\.so\.0/);
    const r = hidden(['node', 'dist/src/cli.js', 'info', '--json'], { PFC_CORE_PATH: join(dir, 'pfc_core.node') });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { libraries: RuntimeLibrary[]; build: { simd: string; simdTargets: string[] } };
    const libraries = report.libraries;
    // The bundle's kernels dispatch on the host CPU too (Highway carried beside the addon).
    assert.equal(report.build.simd, core().buildInfo().simd);
    assert.deepEqual(report.build.simdTargets, core().buildInfo().simdTargets);
    const byName = new Map(libraries.map((l) => [l.name, l]));
    assert.deepEqual([...byName.keys()], ['OpenBLAS', 'MPI', 'cuBLAS', 'NCCL', 'CUDA driver', 'CUDA runtime']);
    assert.equal(byName.get('OpenBLAS')!.found, true);
    assert.equal(byName.get('OpenBLAS')!.path, join(dir, 'libopenblas.so.0'));
    assert.equal(byName.get('MPI')!.found, false);
    assert.match(byName.get('MPI')!.note, /libmpi\.so/);
    const text = hidden(['node', 'dist/src/cli.js', 'info'], { PFC_CORE_PATH: join(dir, 'pfc_core.node') });
    assert.match(text.stdout, /MPI\s+MISSING\s+cannot load .*pfc_mpi\.so: .*libmpi\.so/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without MPI and without a launcher, real mode is one rank; under a launcher a missing MPI is an error', { skip: noNamespace }, () => {
  const dir = makeBundle();
  const script = join(dir, 'world.mjs');
  writeFileSync(
    script,
    `const m = await import(${JSON.stringify(join(root, 'dist', 'src', 'comm', 'mpi.js'))});
try {
  const w = m.mpiWorld();
  console.log(JSON.stringify({ size: w.size, rank: w.rank, version: w.version, gather: [...m.allGatherInt32(Int32Array.of(7), 1)], bcast: [...m.broadcastInt32(Int32Array.of(9), 0)] }));
  m.barrierMpi();
  m.finalizeMpi();
} catch (e) { console.log('ERROR ' + e.message); }`,
  );
  try {
    // Emptied launcher variables read as no launcher, whatever started the test runner.
    const noLauncher = Object.fromEntries(['OMPI_COMM_WORLD_RANK', 'PMIX_RANK', 'PMI_RANK', 'MV2_COMM_WORLD_RANK', 'SLURM_PROCID'].map((n) => [n, '']));
    const env = { ...noLauncher, PFC_CORE_PATH: join(dir, 'pfc_core.node') };
    const alone = hidden(['node', script], env);
    assert.equal(alone.status, 0, alone.stderr);
    const world = JSON.parse(alone.stdout) as { size: number; rank: number; version: string; gather: number[]; bcast: number[] };
    assert.deepEqual([world.rank, world.size, world.gather, world.bcast], [0, 1, [7], [9]]);
    assert.match(world.version, /^none: one rank without a launcher \(cannot load .*libmpi\.so/);
    const launched = hidden(['node', script], { ...env, OMPI_COMM_WORLD_RANK: '0' });
    assert.match(launched.stdout, /^ERROR --mode real: cannot load .*pfc_mpi\.so: .*libmpi\.so/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gpu-check.sh tells a load failure (exit 2, the loader quoted) from no device (exit 0; exit 1 when a GPU is expected)', { skip: noNamespace || (deviceHere && 'a CUDA device is usable here') }, () => {
  const dir = makeBundle();
  const out = mkdtempSync(join(tmpdir(), 'pfc-gpucheck-'));
  try {
    const broken = hidden(['bash', 'scripts/gpu-check.sh'], { OUT: out, PFC_CORE_PATH: join(build, 'pfc_core.node') });
    assert.equal(broken.status, 2, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /gpu-check: LOAD FAILED: .*libopenblas\.so\.0: cannot open shared object file/);
    assert.doesNotMatch(broken.stdout, /no CUDA device/);
    const bundled = hidden(['bash', 'scripts/gpu-check.sh'], { OUT: out, PFC_CORE_PATH: join(dir, 'pfc_core.node') });
    if (!core().buildInfo().cuda) {
      // A build without nvcc: the check refuses it rather than report "no CUDA device".
      assert.equal(bundled.status, 2, bundled.stdout + bundled.stderr);
      assert.match(bundled.stdout, /gpu-check: NO CUDA BACKEND: .* was built without nvcc/);
      return;
    }
    assert.equal(bundled.status, 0, bundled.stdout + bundled.stderr);
    assert.match(bundled.stdout, /gpu-check: no CUDA device \(.+\); nothing ran\./);
    assert.doesNotMatch(bundled.stdout, /LOAD FAILED/);
    // On a lent GPU machine the device is expected: its absence fails the check.
    const expected = hidden(['bash', 'scripts/gpu-check.sh', '--expect-gpu'], { OUT: out, PFC_CORE_PATH: join(dir, 'pfc_core.node') });
    assert.equal(expected.status, 1, expected.stdout + expected.stderr);
    assert.match(expected.stdout, /gpu-check: FAILED: a GPU was expected \(--expect-gpu\) and none is usable/);
    const record = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')) as { outcome: string; expected: boolean };
    assert.deepEqual([record.outcome, record.expected], ['no-device', true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});
