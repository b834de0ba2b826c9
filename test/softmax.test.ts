/**
 * The margin softmax's two passes (ops/softmax.h) against float64 on a padded leading
 * dimension: padding columns hold 3.0 (clamped to 1: the row maximum if they were not masked),
 * the statistics of two column shards merged by max, rescale and sum equal one shard's, and the
 * gradient pass writes the padding 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core } from '../src/core/index.js';
import { allocate } from '../src/core/backend.js';
import { MARGINS, alignedColumns } from '../src/strategies/index.js';
import { testBackend, lcg } from './helpers.js';

const B = 7;
const A = 101; // ld 128
const margin = MARGINS.arcface;

function targetValue(c: number): number {
  return Math.cos(margin.m1 * Math.acos(c) + margin.m2) - margin.m3;
}
function targetGrad(c: number): number {
  const theta = Math.acos(c);
  return (margin.m1 * Math.sin(margin.m1 * theta + margin.m2)) / Math.max(Math.sqrt(Math.max(1 - c * c, 0)), 1e-6);
}

function cosines(): { cos: Float64Array; labels: Int32Array } {
  const rand = lcg(5);
  const cos = Float64Array.from({ length: B * A }, () => rand() * 2.2 - 1.1); // some outside [-1, 1]
  const labels = Int32Array.from({ length: B }, (_, i) => (i === 3 ? -1 : Math.floor(rand() * A)));
  labels[0] = 0;
  labels[1] = A - 1;
  cos[2 * A + labels[2]] = 0.999; // a confident target
  return { cos, labels };
}

/** Runs the native passes on columns [c0, c1) of the cosines, in a padded leading dimension. */
function shardStats(cos: Float64Array, labels: Int32Array, c0: number, c1: number) {
  const backend = testBackend();
  const cols = c1 - c0;
  const ld = alignedColumns(cols);
  const t = (rows: number, c = 1, dtype: 'fp32' | 'int32' = 'fp32') => allocate(backend, 'workspace', dtype, rows, c);
  const logits = t(B, ld);
  const padded = new Float32Array(B * ld).fill(3);
  for (let i = 0; i < B; i++) for (let j = 0; j < cols; j++) padded[i * ld + j] = cos[i * A + c0 + j];
  logits.write(padded);
  const lab = t(B, 1, 'int32');
  lab.write(Int32Array.from(labels, (l) => (l >= c0 && l < c1 ? l - c0 : -1)));
  const s = { targetCos: t(B), localMax: t(B), rowMax: t(B), rowSum: t(B), targetLogit: t(B) };
  core().marginSoftmaxStats({ logits, cols, labels: lab, margin, targetCos: s.targetCos, localMax: s.localMax, rowMax: s.rowMax, rowSum: s.rowSum, targetLogit: s.targetLogit });
  return { logits, lab, cols, ld, ...s, free: () => [logits, lab, ...Object.values(s)].forEach((x) => x.free()) };
}

function reference(cos: Float64Array, labels: Int32Array) {
  const rows = [];
  for (let i = 0; i < B; i++) {
    const z = Array.from({ length: A }, (_, j) => {
      const c = Math.min(Math.max(cos[i * A + j], -1), 1);
      return margin.s * (j === labels[i] ? targetValue(c) : c);
    });
    const max = Math.max(...z);
    const sum = z.reduce((acc, v) => acc + Math.exp(v - max), 0);
    const t = labels[i];
    const grad = z.map((v, j) => {
      const p = Math.exp(v - max) / sum;
      if (j !== t) return (margin.s * p) / B;
      return ((margin.s * (p - 1)) / B) * targetGrad(Math.min(Math.max(cos[i * A + j], -1), 1));
    });
    rows.push({ max, sum, loss: t >= 0 ? Math.log(sum) - (z[t] - max) : Math.log(sum), grad });
  }
  return rows;
}

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1e-30), `${what}: ${a} vs ${b}`);

test('two passes on a padded leading dimension match float64; padding is masked and its gradient is 0', () => {
  const { cos, labels } = cosines();
  const ref = reference(cos, labels);
  const s = shardStats(cos, labels, 0, A);
  try {
    const mx = s.rowMax.read() as Float32Array;
    const sum = s.rowSum.read() as Float32Array;
    for (let i = 0; i < B; i++) {
      close(mx[i], ref[i].max, 1e-6, `row ${i} max`);
      close(sum[i], ref[i].sum, 1e-5, `row ${i} sum`);
    }
    core().rescaleRowStats({ labels: s.lab, localMax: s.localMax, rowMax: s.rowMax, rowSum: s.rowSum, targetLogit: s.targetLogit });
    const loss = core().crossEntropyLossSum(s.rowSum, s.targetLogit);
    close(loss, ref.reduce((acc, r, i) => acc + (labels[i] >= 0 ? r.loss : Math.log(r.sum)), 0), 1e-5, 'loss sum');
    core().marginSoftmaxGrad({ logits: s.logits, cols: A, labels: s.lab, margin, rowMax: s.rowMax, rowSum: s.rowSum, targetCos: s.targetCos, gradScale: 1 / B });
    const g = s.logits.read() as Float32Array;
    let scale = 0;
    for (const r of ref) for (const v of r.grad) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < A; j++) assert.ok(Math.abs(g[i * s.ld + j] - ref[i].grad[j]) <= 2e-5 * scale, `grad[${i}][${j}]: ${g[i * s.ld + j]} vs ${ref[i].grad[j]}`);
      for (let j = A; j < s.ld; j++) assert.equal(g[i * s.ld + j], 0, `padding column ${j} of row ${i}`);
    }
  } finally {
    s.free();
  }
});

test('statistics of two column shards, merged by MAX then rescale then SUM, equal one shard over all columns', () => {
  const { cos, labels } = cosines();
  const whole = shardStats(cos, labels, 0, A);
  const left = shardStats(cos, labels, 0, 40);
  const right = shardStats(cos, labels, 40, A);
  try {
    core().rescaleRowStats({ labels: whole.lab, localMax: whole.localMax, rowMax: whole.rowMax, rowSum: whole.rowSum, targetLogit: whole.targetLogit });
    // The all-reduces, by hand: MAX of rowMax, then SUM of rowSum and targetLogit.
    const globalMax = Float32Array.from(left.rowMax.read() as Float32Array, (m, i) => Math.max(m, (right.rowMax.read() as Float32Array)[i]));
    for (const part of [left, right]) {
      part.rowMax.write(globalMax);
      core().rescaleRowStats({ labels: part.lab, localMax: part.localMax, rowMax: part.rowMax, rowSum: part.rowSum, targetLogit: part.targetLogit });
    }
    const sum = (a: typeof left.rowSum, b: typeof left.rowSum) => Array.from(a.read() as Float32Array, (x, i) => x + (b.read() as Float32Array)[i]);
    const sums = sum(left.rowSum, right.rowSum);
    const targets = sum(left.targetLogit, right.targetLogit);
    for (let i = 0; i < B; i++) {
      close(sums[i], (whole.rowSum.read() as Float32Array)[i], 1e-5, `row ${i} sum`);
      close(targets[i], (whole.targetLogit.read() as Float32Array)[i], 1e-6, `row ${i} target logit`);
      assert.equal(globalMax[i], (whole.rowMax.read() as Float32Array)[i], `row ${i} max`);
    }
  } finally {
    for (const s of [whole, left, right]) s.free();
  }
});

test('a label in the padding is an error that names the op', () => {
  const { cos, labels } = cosines();
  const s = shardStats(cos, labels, 0, A);
  try {
    s.lab.write(Int32Array.from({ length: B }, () => A + 2));
    assert.throws(
      () => {
        core().marginSoftmaxStats({ logits: s.logits, cols: A, labels: s.lab, margin, targetCos: s.targetCos, localMax: s.localMax, rowMax: s.rowMax, rowSum: s.rowSum, targetLogit: s.targetLogit });
        testBackend().synchronize(); // a GPU finds it on the device and says so at the next synchronization
      },
      /marginSoftmaxStats: (label 103 outside 101 active centres|a label is outside the active centres \(found on the device\))/,
    );
  } finally {
    s.free();
  }
});

// The logit-free step (--logits fused) runs both passes tile by tile over the active columns.
function tileStats(cos: Float64Array, labels: Int32Array, tile: number) {
  const backend = testBackend();
  const t = (rows: number, c = 1, dtype: 'fp32' | 'int32' = 'fp32') => allocate(backend, 'workspace', dtype, rows, c);
  const lab = t(B, 1, 'int32');
  lab.write(labels);
  const s = { targetCos: t(B), localMax: t(B), rowMax: t(B), rowSum: t(B), targetLogit: t(B) };
  const tiles: { logits: ReturnType<typeof t>; first: number; cols: number; ld: number }[] = [];
  for (let first = 0; first < A; first += tile) {
    const cols = Math.min(tile, A - first);
    const ld = alignedColumns(cols);
    const logits = t(B, ld);
    const padded = new Float32Array(B * ld).fill(3);
    for (let i = 0; i < B; i++) for (let j = 0; j < cols; j++) padded[i * ld + j] = cos[i * A + first + j];
    logits.write(padded);
    core().marginSoftmaxStats({ logits, cols, labels: lab, margin, targetCos: s.targetCos, localMax: s.localMax, rowMax: s.rowMax, rowSum: s.rowSum, targetLogit: s.targetLogit, columns: { offset: first, active: A } });
    tiles.push({ logits, first, cols, ld });
  }
  return { lab, tiles, ...s, free: () => [lab, ...tiles.map((x) => x.logits), ...Object.values(s)].forEach((x) => x.free()) };
}

for (const tile of [1, 13, 64, A]) {
  test(`tiles of ${tile} columns folded in order equal one pass over all ${A}: statistics and gradient`, () => {
    const { cos, labels } = cosines();
    const whole = shardStats(cos, labels, 0, A);
    const tiled = tileStats(cos, labels, tile);
    try {
      const read = (x: { read(): unknown }) => x.read() as Float32Array;
      for (let i = 0; i < B; i++) {
        assert.equal(read(tiled.rowMax)[i], read(whole.rowMax)[i], `row ${i} max`);
        assert.equal(read(tiled.localMax)[i], read(whole.localMax)[i], `row ${i} local max`);
        close(read(tiled.rowSum)[i], read(whole.rowSum)[i], 1e-5, `row ${i} sum`);
        assert.equal(read(tiled.targetCos)[i], read(whole.targetCos)[i], `row ${i} target cosine`);
        assert.equal(read(tiled.targetLogit)[i], read(whole.targetLogit)[i], `row ${i} target logit`);
      }
      core().marginSoftmaxGrad({ logits: whole.logits, cols: A, labels: whole.lab, margin, rowMax: whole.rowMax, rowSum: whole.rowSum, targetCos: whole.targetCos, gradScale: 1 / B });
      const g = read(whole.logits);
      for (const piece of tiled.tiles) {
        core().marginSoftmaxGrad({ logits: piece.logits, cols: piece.cols, labels: tiled.lab, margin, rowMax: tiled.rowMax, rowSum: tiled.rowSum, targetCos: tiled.targetCos, gradScale: 1 / B, columns: { offset: piece.first, active: A } });
        const gt = read(piece.logits);
        for (let i = 0; i < B; i++) {
          for (let j = 0; j < piece.cols; j++) {
            const expected = g[i * whole.ld + piece.first + j];
            assert.ok(Math.abs(gt[i * piece.ld + j] - expected) <= 1e-5 * Math.abs(expected) + 1e-9, `grad[${i}][${piece.first + j}]: ${gt[i * piece.ld + j]} vs ${expected}`);
          }
          for (let j = piece.cols; j < piece.ld; j++) assert.equal(gt[i * piece.ld + j], 0, `tile padding ${j} of row ${i}`);
        }
      }
    } finally {
      whole.free();
      tiled.free();
    }
  });
}

test('tiles: a label beyond the active columns is an error, and so is a tile past them', () => {
  const { cos, labels } = cosines();
  const tiled = tileStats(cos, labels, 50);
  try {
    const piece = tiled.tiles[0];
    tiled.lab.write(Int32Array.from({ length: B }, () => A));
    assert.throws(
      () => {
        core().marginSoftmaxStats({ logits: piece.logits, cols: piece.cols, labels: tiled.lab, margin, targetCos: tiled.targetCos, localMax: tiled.localMax, rowMax: tiled.rowMax, rowSum: tiled.rowSum, targetLogit: tiled.targetLogit, columns: { offset: 50, active: A } });
        testBackend().synchronize();
      },
      /marginSoftmaxStats: (label 101 outside 101 active centres|a label is outside the active centres \(found on the device\))/,
    );
    assert.throws(
      () => core().marginSoftmaxGrad({ logits: piece.logits, cols: piece.cols, labels: tiled.lab, margin, rowMax: tiled.rowMax, rowSum: tiled.rowSum, targetCos: tiled.targetCos, gradScale: 1, columns: { offset: 60, active: A } }),
      /marginSoftmaxGrad: tile columns \[60, 110\) outside 101 active centres|outside 101 active columns/,
    );
  } finally {
    tiled.free();
  }
});
