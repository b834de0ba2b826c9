/**
 * The CPU kernels on every SIMD target this CPU runs (Highway dispatch, ops/cpu/simd.h):
 * - the float64 reference tests of the kernels and strategies pass with dispatch capped at each
 *   target in turn (a child `node --test` per target, PFC_SIMD_MAX set);
 * - in one process, each kernel on each target agrees with the best target on odd shapes (row
 *   lengths that leave a tail on every vector width) with outliers, and the dispatch really
 *   moves: the target named after the cap is the one capped to;
 * - a bad cap is an error naming the setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { core } from '../src/core/index.js';
import { allocate } from '../src/core/backend.js';
import type { NativeTensor } from '../src/core/binding.js';
import { MARGINS, alignedColumns } from '../src/strategies/index.js';
import { testBackend, lcg } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const targets = core().buildInfo().simdTargets;
const capName = (target: string) => target.toLowerCase();

test('the build carries several SIMD targets and dispatches to the best one this CPU runs', () => {
  const info = core().buildInfo();
  assert.ok(targets.length >= 2, `SIMD targets here: ${targets.join(', ')}`);
  assert.ok(targets.includes('SCALAR') || targets.includes('EMU128'), 'a portable fallback is compiled in');
  if (process.arch === 'x64') assert.ok(targets.includes('SSE4'), 'x86-64: SSE4 is compiled in');
  if (!process.env.PFC_SIMD_MAX) assert.equal(info.simd, targets[0]);
});

/** Runs every kernel once on fixed inputs; returns each output by name. */
function runKernels(): Record<string, Float32Array> {
  const backend = testBackend();
  const native = core();
  const rand = lcg(99);
  const made: NativeTensor[] = [];
  const t = (rows: number, cols = 1, dtype: 'fp32' | 'int32' = 'fp32') => {
    const x = allocate(backend, 'workspace', dtype, rows, cols);
    made.push(x);
    return x;
  };
  const out: Record<string, Float32Array> = {};
  const read = (x: NativeTensor) => Float32Array.from(x.read() as Float32Array);
  try {
    // Normalize: 37 rows of 515 (a tail on 4, 8 and 16 lanes), one row zero, one huge, one tiny.
    const rows = 37;
    const dim = 515;
    const src = Float32Array.from({ length: rows * dim }, () => rand() * 2 - 1);
    src.fill(0, 3 * dim, 4 * dim);
    for (let c = 0; c < dim; c++) {
      src[5 * dim + c] *= 1e15;
      src[6 * dim + c] *= 1e-15;
    }
    src[7 * dim + 11] = 1e4; // one outlier lane
    const x = t(rows, dim);
    x.write(src);
    const y = t(rows, dim);
    const norms = t(rows);
    native.normalizeRows(x, null, y, norms);
    out.normalized = read(y);
    out.norms = read(norms);
    const g = t(rows, dim);
    g.write(Float32Array.from({ length: rows * dim }, () => rand() - 0.5));
    native.normalizeRowsBackward(g, y, norms);
    out.normalizeBackward = read(g);

    // Margin softmax over 1029 columns in a padded leading dimension, cosines past [-1, 1].
    const B = 9;
    const A = 1029;
    const ld = alignedColumns(A);
    const logits = t(B, ld);
    const cos = Float32Array.from({ length: B * ld }, () => rand() * 2.4 - 1.2);
    cos[4 * ld + 17] = 50; // clamped to 1
    logits.write(cos);
    const labels = t(B, 1, 'int32');
    labels.write(Int32Array.from({ length: B }, (_, i) => (i === 2 ? -1 : (i * 113) % A)));
    const s = { targetCos: t(B), localMax: t(B), rowMax: t(B), rowSum: t(B), targetLogit: t(B) };
    native.marginSoftmaxStats({ logits, cols: A, labels, margin: MARGINS.arcface, targetCos: s.targetCos, localMax: s.localMax, rowMax: s.rowMax, rowSum: s.rowSum, targetLogit: s.targetLogit });
    native.rescaleRowStats({ labels, localMax: s.localMax, rowMax: s.rowMax, rowSum: s.rowSum, targetLogit: s.targetLogit });
    out.rowMax = read(s.rowMax);
    out.rowSum = read(s.rowSum);
    native.marginSoftmaxGrad({ logits, cols: A, labels, margin: MARGINS.arcface, rowMax: s.rowMax, rowSum: s.rowSum, targetCos: s.targetCos, gradScale: 1 / B });
    out.softmaxGrad = read(logits);

    // SGD: sparse and dense updates, the fused normalized update, idle rows and the catch-up.
    const shard = 41;
    const d = 23;
    const w0 = Float32Array.from({ length: shard * d }, () => rand() * 2 - 1);
    const v0 = Float32Array.from({ length: shard * d }, () => rand() - 0.5);
    const rates = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    const active = Int32Array.from([0, 2, 3, 17, 40]);
    const idx = t(active.length, 1, 'int32');
    idx.write(active);
    const grad = t(active.length, d);
    grad.write(Float32Array.from({ length: active.length * d }, () => rand() - 0.5));
    const state = () => {
      const w = t(shard, d);
      const v = t(shard, d);
      w.write(w0);
      v.write(v0);
      return { w, v };
    };
    for (const dense of [false, true]) {
      const { w, v } = state();
      native.sgdUpdate(w, v, grad, idx, { ...rates, dense });
      out[`sgd ${dense ? 'dense' : 'sparse'} centres`] = read(w);
      out[`sgd ${dense ? 'dense' : 'sparse'} momentum`] = read(v);
    }
    {
      const { w, v } = state();
      const yRows = t(active.length, d);
      const yNorms = t(active.length);
      native.normalizeRows(w, idx, yRows, yNorms);
      native.sgdNormalizedUpdate({ weights: w, momentum: v, gradNormalized: grad, normalized: yRows, norms: yNorms, indices: idx, rates, lastStep: null, step: 0 });
      native.sgdIdleRows(w, v, idx, rates);
      out['sgd normalized+idle centres'] = read(w);
      out['sgd normalized+idle momentum'] = read(v);
    }
    {
      const { w, v } = state();
      const last = t(shard, 1, 'int32');
      last.write(Int32Array.from({ length: shard }, (_, r) => r % 7));
      native.sgdCatchUp(w, v, last, null, 9, rates);
      out['catch-up centres'] = read(w);
      out['catch-up momentum'] = read(v);
    }
    {
      const dst = t(shard, d);
      dst.write(w0);
      const many = t(3, 1, 'int32');
      many.write(Int32Array.from([4, 4, 9])); // a repeated row accumulates
      const rowsIn = t(3, d);
      rowsIn.write(Float32Array.from({ length: 3 * d }, () => rand()));
      native.scatterAddRows(rowsIn, many, dst);
      out.scatterAdd = read(dst);
    }
    return out;
  } finally {
    for (const x of made) x.free();
  }
}

test('every kernel agrees across the SIMD targets on odd shapes with outliers, and the cap moves the dispatch', () => {
  const native = core();
  try {
    assert.equal(native.setSimdTarget('best'), targets[0]);
    const best = runKernels();
    for (const target of targets.slice(1)) {
      assert.equal(native.setSimdTarget(capName(target)), target, `capped at ${target}`);
      assert.equal(native.buildInfo().simd, target);
      const got = runKernels();
      for (const [name, want] of Object.entries(best)) {
        const have = got[name];
        assert.equal(have.length, want.length);
        let scale = 0;
        for (const w of want) if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
        for (let i = 0; i < want.length; i++) {
          // Summation order and FMA differ between targets: a few fp32 ulps of the output's scale,
          // or of the element itself where it dwarfs the rest (the huge row's norm).
          const tol = 4e-6 * Math.max(Math.abs(want[i]), name === 'norms' ? 0 : scale) + 1e-30;
          assert.ok(Math.abs(have[i] - want[i]) <= tol, `${target} ${name}[${i}]: ${have[i]} vs ${targets[0]} ${want[i]}`);
        }
      }
    }
  } finally {
    native.setSimdTarget(process.env.PFC_SIMD_MAX || 'best');
  }
});

test('a SIMD cap that names no target is an error naming the setting; so is PFC_SIMD_MAX', () => {
  assert.throws(() => core().setSimdTarget('avx9000'), /SIMD target: 'avx9000' is unknown; expected one of avx3_dl, avx3, avx512, avx2, sse4/);
  assert.equal(core().buildInfo().simd, process.env.PFC_SIMD_MAX ? core().buildInfo().simd : targets[0], 'a refused cap changes nothing');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', "import('./dist/src/core/binding.js').then((b) => b.core())"], {
    cwd: join(here, '..', '..'),
    env: { ...process.env, PFC_SIMD_MAX: 'avx9000' },
    encoding: 'utf8',
  });
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /PFC_SIMD_MAX: 'avx9000' is unknown/);
  assert.doesNotMatch(child.stderr, /apt-get install/, 'a bad setting is not reported as a missing library');
});

// The kernels' and strategies' float64 reference tests, with dispatch capped at each lesser target.
// bf16: the kernels' bf16 loads and stores (Highway on each target) equal the fp32 path rounded, and
// whole bf16 steps match the rounded float64 reference.
const referenceSuites = ['softmax.test.js', 'sgd.test.js', 'strategies.test.js', 'sampling.test.js', 'bf16-ops.test.js', 'strategies-bf16.test.js'];
for (const target of targets.slice(1)) {
  test(`the float64 reference tests pass with the kernels capped at ${target}`, () => {
    // Without NODE_TEST_CONTEXT the child reports as a top-level run (TAP), not to this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawnSync(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1', ...referenceSuites.map((f) => join(here, f))], {
      env: { ...env, PFC_SIMD_MAX: capName(target) },
      encoding: 'utf8',
      timeout: 300_000,
    });
    const summary = (child.stdout ?? '').split('\n').filter((l) => /^# (tests|pass|fail)|^not ok/.test(l));
    assert.equal(child.status, 0, `${target}: ${summary.join('; ')}\n${(child.stdout ?? '').slice(-3000)}`);
    assert.ok(summary.includes('# fail 0') && !summary.includes('# pass 0'), summary.join('; '));
  });
}
