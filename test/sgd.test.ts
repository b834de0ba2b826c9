/** Sparse (seed, v1), dense (arcface_torch, v2) and lazy dense (ours) updates over several steps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core } from '../src/core/index.js';
import { allocate } from '../src/core/backend.js';
import { buildStrategy, testBackend, lcg, outlierBatch, smallConfig, splitBatch } from './helpers.js';

function run(update: 'sparse' | 'dense', steps: number) {
  const config = smallConfig({ strategy: 'partial-fc', classes: 200, sampleRate: 0.05, update, sgd: { lr: 0.01, momentum: 0.9, weightDecay: 0.01 } });
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 5);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  const initial = Float64Array.from(strategy.weights.read());
  const everActive = new Set<number>();
  const timer = testBackend().createTimer();
  for (let s = 0; s < steps; s++) {
    strategy.step(s, timer);
    for (const i of strategy.activeIndices()!) everActive.add(i);
  }
  const result = { config, initial, weights: Float64Array.from(strategy.weights.read()), momentum: Float64Array.from(strategy.momentum.read()), everActive };
  strategy.dispose();
  return result;
}

test('sparse: rows never sampled keep their centre and zero momentum', () => {
  const { config, initial, weights, momentum, everActive } = run('sparse', 4);
  let untouched = 0;
  for (let j = 0; j < config.classes; j++) {
    const row = (a: Float64Array) => a.subarray(j * config.dim, (j + 1) * config.dim);
    if (everActive.has(j)) {
      assert.notDeepEqual(row(weights), row(initial), `active row ${j} moved`);
      continue;
    }
    untouched++;
    assert.deepEqual(row(weights), row(initial), `inactive row ${j} untouched`);
    assert.ok(row(momentum).every((v) => v === 0), `inactive row ${j} keeps zero momentum`);
  }
  assert.ok(untouched > 100, `most rows stay inactive (${untouched})`);
});

test('dense: rows never sampled decay as w_k = w_0 * (decay recurrence) with g = 0', () => {
  const steps = 4;
  const { config, initial, weights, momentum, everActive } = run('dense', steps);
  const { lr, momentum: mu, weightDecay: wd } = config.sgd;
  for (let j = 0; j < config.classes; j++) {
    if (everActive.has(j)) continue;
    for (let c = 0; c < config.dim; c++) {
      const e = j * config.dim + c;
      let w = initial[e];
      let v = 0;
      for (let s = 0; s < steps; s++) {
        v = mu * v + wd * w;
        w -= lr * v;
      }
      assert.ok(Math.abs(weights[e] - w) <= 1e-6 * Math.abs(initial[e]) + 1e-12, `row ${j}: ${weights[e]} vs ${w}`);
      assert.ok(Math.abs(momentum[e] - v) <= 1e-5 * Math.abs(v) + 1e-12, `row ${j} momentum: ${momentum[e]} vs ${v}`);
    }
    assert.notEqual(weights[j * config.dim], initial[j * config.dim], `inactive row ${j} decayed`);
  }
});

/** Runs `steps` steps without reading the centres in between (a read would flush). */
function runUntouched(update: 'dense' | 'lazy-dense', steps: number) {
  const config = smallConfig({ strategy: 'partial-fc', classes: 301, sampleRate: 0.03, update, batch: 4, sgd: { lr: 0.05, momentum: 0.9, weightDecay: 0.02 } });
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 8);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  const lastActive = new Map<number, number>();
  let longestIdle = 0;
  const timer = testBackend().createTimer();
  for (let s = 0; s < steps; s++) {
    strategy.step(s, timer);
    for (const i of strategy.activeIndices()!) {
      longestIdle = Math.max(longestIdle, s - (lastActive.get(i) ?? -1) - 1);
      lastActive.set(i, s);
    }
  }
  for (let i = 0; i < config.classes; i++) longestIdle = Math.max(longestIdle, steps - 1 - (lastActive.get(i) ?? -1));
  const result = { weights: Float64Array.from(strategy.weights.read()), momentum: Float64Array.from(strategy.momentum.read()), longestIdle, seen: lastActive.size };
  strategy.dispose();
  return result;
}

test('lazy-dense equals eager dense to fp32 rounding after 80 steps, rows idle for long stretches', () => {
  const steps = 80;
  const eager = runUntouched('dense', steps);
  const lazy = runUntouched('lazy-dense', steps);
  assert.ok(lazy.longestIdle >= 40, `some row sat out ${lazy.longestIdle} consecutive steps`);
  assert.ok(lazy.seen > 100 && lazy.seen < 301, `${lazy.seen} rows were active at least once, others never`);
  // The same maths rounded differently (the lazy rule rounds once per catch-up); training feeds
  // the centres back into the gradients, which amplifies rounding to ~1e-6 of the largest centre.
  // One missed or extra idle step would move an idle row by ~1% of itself.
  for (const [what, a, b] of [['centres', lazy.weights, eager.weights], ['momentum', lazy.momentum, eager.momentum]] as const) {
    let scale = 0;
    for (const x of b) scale = Math.max(scale, Math.abs(x));
    for (let e = 0; e < a.length; e++) {
      assert.ok(Math.abs(a[e] - b[e]) <= 1e-5 * scale, `${what}[${e}]: lazy ${a[e]} vs dense ${b[e]} (scale ${scale})`);
    }
  }
});

test('the update rule alone: lazy-dense equals eager dense within fp32 rounding over 300 steps of fixed gradients', () => {
  // No feedback: gradients are fixed random rows on random active sets, fed to both rules.
  // sgdNormalizedUpdate with y = 0 and norm 1 takes the gradient as it is.
  const native = core();
  const backend = testBackend();
  const rows = 97;
  const dim = 8;
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-3 };
  const rand = lcg(12);
  const init = Float32Array.from({ length: rows * dim }, () => rand() * 2 - 1);
  const alloc = (dtype: 'fp32' | 'int32', r: number, c = 1) => allocate(backend, 'workspace', dtype, r, c);
  const eager = { w: alloc('fp32', rows, dim), v: alloc('fp32', rows, dim) };
  const lazy = { w: alloc('fp32', rows, dim), v: alloc('fp32', rows, dim), last: alloc('int32', rows) };
  const grad = alloc('fp32', rows, dim);
  const zeros = alloc('fp32', rows, dim);
  const ones = alloc('fp32', rows);
  const idx = alloc('int32', rows);
  const tensors = [eager.w, eager.v, lazy.w, lazy.v, lazy.last, grad, zeros, ones, idx];
  try {
    for (const t of [eager.w, lazy.w]) t.write(init);
    for (const t of [eager.v, lazy.v, zeros]) native.fillConstant(t, 0);
    native.fillConstant(lazy.last, 0);
    native.fillConstant(ones, 1);
    let longestIdle = 0;
    const lastSeen = new Array<number>(rows).fill(-1);
    for (let step = 0; step < 300; step++) {
      // Rows 0..9 are never active; the others with probability 1/25 (long idle stretches).
      const active = Array.from({ length: rows }, (_, r) => r).filter((r) => r >= 10 && rand() < 0.04);
      if (active.length === 0) active.push(10 + (step % (rows - 10)));
      for (const r of active) {
        longestIdle = Math.max(longestIdle, step - lastSeen[r] - 1);
        lastSeen[r] = step;
      }
      const n = active.length;
      idx.view(0, n).write(Int32Array.from(active));
      grad.view(0, n).write(Float32Array.from({ length: n * dim }, () => (rand() * 2 - 1) * 0.3));
      native.sgdUpdate(eager.w, eager.v, grad.view(0, n), idx.view(0, n), { ...sgd, dense: true });
      native.sgdCatchUp(lazy.w, lazy.v, lazy.last, idx.view(0, n), step, sgd);
      native.sgdNormalizedUpdate({ weights: lazy.w, momentum: lazy.v, gradNormalized: grad.view(0, n), normalized: zeros.view(0, n), norms: ones.view(0, n), indices: idx.view(0, n), rates: sgd, lastStep: lazy.last, step });
    }
    native.sgdCatchUp(lazy.w, lazy.v, lazy.last, null, 300, sgd); // the flush
    assert.ok(longestIdle > 100, `rows sat out up to ${longestIdle} steps`);
    assert.ok(Array.from(lazy.last.read()).every((s) => s === 300), 'every row flushed to step 300');
    for (const [what, a, b] of [['centres', lazy.w.read(), eager.w.read()], ['momentum', lazy.v.read(), eager.v.read()]] as const) {
      let scale = 0;
      for (const x of b) scale = Math.max(scale, Math.abs(x));
      for (let e = 0; e < a.length; e++) {
        // Eager dense rounds at each of its 300 steps, a random walk of some sqrt(600) half-ulps
        // (~4e-7 here, whichever SIMD target rounds it); lazy-dense is exact in float64. 1e-6 of
        // the scale bounds that walk with room, and is still far below one step's change (~1e-2).
        assert.ok(Math.abs(a[e] - b[e]) <= 1e-6 * scale, `${what}[${e}]: lazy ${a[e]} vs dense ${b[e]} (scale ${scale})`);
      }
    }
    // Rows never active decayed (the rule is not a no-op).
    assert.ok(Math.abs((eager.w.read() as Float32Array)[0]) < 0.5 * Math.abs(init[0]), 'idle rows decayed');
  } finally {
    for (const t of tensors) t.free();
  }
});

test('sgdCatchUp applies k zero-gradient steps exactly (float64 loop as reference), rows at their own lag', () => {
  const native = core();
  const backend = testBackend();
  const rows = 5;
  const dim = 3;
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  const w0 = Float32Array.from({ length: rows * dim }, (_, e) => (e % 2 ? -1 : 1) * (0.5 + e) * (e === 4 ? 1e4 : 1));
  const v0 = Float32Array.from({ length: rows * dim }, (_, e) => 0.01 * (e - 7));
  const last0 = Int32Array.from([0, 3, 999, 1000, 1000]); // lags 1000, 997, 1, 0, 0
  const weights = allocate(backend, 'workspace', 'fp32', rows, dim);
  const momentum = allocate(backend, 'workspace', 'fp32', rows, dim);
  const lastStep = allocate(backend, 'workspace', 'int32', rows);
  const indices = allocate(backend, 'workspace', 'int32', 3);
  try {
    weights.write(w0);
    momentum.write(v0);
    lastStep.write(last0);
    indices.write(Int32Array.from([0, 2, 3])); // row 1 is not listed: left as it is
    native.sgdCatchUp(weights, momentum, lastStep, indices, 1000, sgd);
    const w = weights.read() as Float32Array;
    const v = momentum.read() as Float32Array;
    const lr = Math.fround(sgd.lr);
    const mu = Math.fround(sgd.momentum);
    const wd = Math.fround(sgd.weightDecay);
    for (let r = 0; r < rows; r++) {
      const listed = [0, 2, 3].includes(r);
      const k = listed ? 1000 - last0[r] : 0;
      for (let c = 0; c < dim; c++) {
        const e = r * dim + c;
        let ww = w0[e];
        let vv = v0[e];
        for (let s = 0; s < k; s++) {
          vv = mu * vv + wd * ww;
          ww -= lr * vv;
        }
        assert.ok(Math.abs(w[e] - ww) <= 4e-7 * Math.abs(ww) + 1e-30, `row ${r} (k ${k}) w: ${w[e]} vs ${ww}`);
        assert.ok(Math.abs(v[e] - vv) <= 4e-7 * Math.abs(vv) + 1e-30, `row ${r} (k ${k}) v: ${v[e]} vs ${vv}`);
      }
    }
    assert.deepEqual(Array.from(lastStep.read()), [1000, 3, 1000, 1000, 1000], 'listed rows stamped with the step');
    assert.throws(
      () => {
        native.sgdCatchUp(weights, momentum, lastStep, null, 999, sgd);
        testBackend().synchronize(); // a GPU finds it on the device and says so at the next synchronization
      },
      /ahead of step|sgdCatchUp.*no row may be ahead of the step \(found on the device\)/,
      'a row ahead of the step is an error',
    );
  } finally {
    for (const t of [weights, momentum, lastStep, indices]) t.free();
  }
});

test('the catch-up fused into the normalization equals sgdCatchUp then normalizeRows, bit for bit', () => {
  const native = core();
  const backend = testBackend();
  const rows = 40;
  const dim = 13;
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-3 };
  const rand = lcg(4);
  const w0 = Float32Array.from({ length: rows * dim }, () => rand() * 2 - 1);
  const v0 = Float32Array.from({ length: rows * dim }, () => (rand() * 2 - 1) * 0.1);
  const last0 = Int32Array.from({ length: rows }, (_, r) => (r * 37) % 50);
  const picked = Int32Array.from([0, 3, 4, 17, 39]);
  const run = (fused: boolean) => {
    const t = {
      w: allocate(backend, 'workspace', 'fp32', rows, dim),
      v: allocate(backend, 'workspace', 'fp32', rows, dim),
      last: allocate(backend, 'workspace', 'int32', rows),
      idx: allocate(backend, 'workspace', 'int32', picked.length),
      y: allocate(backend, 'workspace', 'fp32', picked.length, dim),
      norms: allocate(backend, 'workspace', 'fp32', picked.length),
    };
    t.w.write(w0);
    t.v.write(v0);
    t.last.write(last0);
    t.idx.write(picked);
    if (fused) {
      native.normalizeRows(t.w, t.idx, t.y, t.norms, { momentum: t.v, lastStep: t.last, step: 60, sgd });
    } else {
      native.sgdCatchUp(t.w, t.v, t.last, t.idx, 60, sgd);
      native.normalizeRows(t.w, t.idx, t.y, t.norms);
    }
    const out = { w: t.w.read(), v: t.v.read(), last: t.last.read(), y: t.y.read(), norms: t.norms.read() };
    Object.values(t).forEach((x) => x.free());
    return out;
  };
  const fused = run(true);
  const apart = run(false);
  assert.deepEqual(fused, apart);
  assert.notDeepEqual(fused.w, w0, 'the picked rows moved');
  assert.deepEqual(Array.from(fused.last).filter((s, r) => !picked.includes(r)), Array.from(last0).filter((s, r) => !picked.includes(r)), 'other rows untouched');
});

test('sgdIdleRows: each row outside the indices takes one zero-gradient step (float64 reference); the listed rows are untouched', () => {
  const rows = 300;
  const dim = 7;
  const backend = testBackend();
  const rand = lcg(21);
  const w0 = Float32Array.from({ length: rows * dim }, () => rand() * 2 - 1);
  const v0 = Float32Array.from({ length: rows * dim }, () => rand() - 0.5);
  const active = Int32Array.from([0, 3, 4, 150, 298]);
  const weights = allocate(backend, 'centres', 'fp32', rows, dim);
  const momentum = allocate(backend, 'optimizer', 'fp32', rows, dim);
  const indices = allocate(backend, 'workspace', 'int32', active.length);
  try {
    weights.write(w0);
    momentum.write(v0);
    indices.write(active);
    const rates = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    core().sgdIdleRows(weights, momentum, indices, rates);
    const w = weights.read() as Float32Array;
    const v = momentum.read() as Float32Array;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < dim; c++) {
        const e = r * dim + c;
        if (active.includes(r)) {
          assert.equal(w[e], w0[e], `active row ${r} untouched`);
          assert.equal(v[e], v0[e], `active row ${r} momentum untouched`);
          continue;
        }
        const ve = Math.fround(rates.momentum) * v0[e] + Math.fround(rates.weightDecay) * w0[e];
        const we = w0[e] - Math.fround(rates.lr) * ve;
        // fp32 rounding is relative to the operands of each sum, not to a result they nearly
        // cancel in (a SIMD target without FMA rounds the products first).
        const vScale = Math.abs(Math.fround(rates.momentum) * v0[e]) + Math.abs(Math.fround(rates.weightDecay) * w0[e]);
        const wScale = Math.abs(w0[e]) + Math.abs(Math.fround(rates.lr) * ve);
        assert.ok(Math.abs(v[e] - ve) <= 1e-6 * vScale + 1e-9, `row ${r} momentum ${v[e]} vs ${ve}`);
        assert.ok(Math.abs(w[e] - we) <= 1e-6 * wScale + 1e-9, `row ${r} centre ${w[e]} vs ${we}`);
      }
    }
    indices.write(Int32Array.from([0, 4, 3, 150, 298]));
    assert.throws(
      () => {
        core().sgdIdleRows(weights, momentum, indices, rates);
        testBackend().synchronize();
      },
      /sgdIdleRows.*: indices must be sorted, unique and inside the shard/,
    );
  } finally {
    for (const t of [weights, momentum, indices]) t.free();
  }
});
