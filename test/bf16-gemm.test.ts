/**
 * The CPU's GEMM with bf16 inputs (ops/gemm.h): blocks converted to fp32 exactly, sgemm with fp32
 * accumulation, a bf16 output rounded once at the end, as cuBLAS does. Against float64 on a
 * shape that fits one conversion buffer (every transposition, alpha and beta), and against fp32
 * sgemm on the decoded inputs on shapes that overflow it in m, n or k; the buffer is tagged
 * 'workspace' for the call only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core, type NativeTensor } from '../src/core/index.js';
import { allocate } from '../src/core/backend.js';
import { testBackend, lcg } from './helpers.js';
import { BF16_UNIT_ROUNDOFF, fromBf16Bits, toBf16Bits } from './bf16.js';

const u = BF16_UNIT_ROUNDOFF;

function tensor(dtype: 'fp32' | 'bf16' | 'int32', rows: number, cols = 1): NativeTensor {
  return allocate(testBackend(), 'workspace', dtype, rows, cols);
}

function floats(values: ArrayLike<number>, rows: number, cols = 1): NativeTensor {
  const t = tensor('fp32', rows, cols);
  t.write(Float32Array.from(values as ArrayLike<number>));
  return t;
}

/** A bf16 tensor holding `values` rounded, and an fp32 one holding exactly those rounded values. */
function bf16Pair(values: ArrayLike<number>, rows: number, cols = 1): { b: NativeTensor; f: NativeTensor } {
  const b = tensor('bf16', rows, cols);
  b.write(toBf16Bits(values));
  return { b, f: floats(fromBf16Bits(b.read() as Uint16Array), rows, cols) };
}

/** rows x cols uniform in [-1, 1), row 0 scaled by 1e3 and row 1 by 1e-3. */
function withOutliers(rows: number, cols: number, seed: number): Float32Array {
  const rand = lcg(seed);
  const v = Float32Array.from({ length: rows * cols }, () => rand() * 2 - 1);
  for (let c = 0; c < cols; c++) {
    v[c] *= 1e3;
    if (rows > 1) v[cols + c] *= 1e-3;
  }
  return v;
}

function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: element ${i} is 0x${actual[i].toString(16)}, expected 0x${expected[i].toString(16)}`);
  }
}

const bits = (t: NativeTensor) => t.read() as Uint16Array;

test('gemm with bf16 inputs: every transposition, fp32 and bf16 outputs, alpha and beta, against float64', () => {
  const native = core();
  const m = 600;
  const n = 70;
  const k = 1100;
  const a64 = withOutliers(m, k, 1);
  const b64 = withOutliers(k, n, 2);
  const A = bf16Pair(a64, m, k);
  const Bm = bf16Pair(b64, k, n);
  const av = fromBf16Bits(bits(A.b));
  const bv = fromBf16Bits(bits(Bm.b));
  // Transposed copies hold the same values, so each op(.) is the same matrix.
  const transpose = (x: ArrayLike<number>, r: number, c: number) => Float32Array.from({ length: r * c }, (_, e) => x[(e % r) * c + Math.floor(e / r)]);
  const At = bf16Pair(transpose(av, m, k), k, m);
  const Bt = bf16Pair(transpose(bv, k, n), n, k);
  const exact = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n); // sum |a||b|: fp32 summation's error scale
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = av[i * k + p];
      for (let j = 0; j < n; j++) {
        exact[i * n + j] += x * bv[p * n + j];
        magnitude[i * n + j] += Math.abs(x * bv[p * n + j]);
      }
    }
  }
  const alpha = 0.75;
  const beta = 0.5;
  const prior = withOutliers(m, n, 3);
  const priorBf16 = fromBf16Bits(toBf16Bits(prior));
  // fp32 accumulation over k: within k * 2^-24 of sum |a||b| (the classic bound), with room.
  const sumError = (e: number) => 2 * k * 2 ** -24 * alpha * magnitude[e];
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const what = `${transA ? 'A^T' : 'A'} x ${transB ? 'B^T' : 'B'}`;
    const a = transA ? At.b : A.b;
    const b = transB ? Bt.b : Bm.b;
    const cf = floats(prior, m, n);
    native.gemm(a, transA, b, transB, cf, alpha, beta);
    const got = cf.read();
    for (let e = 0; e < m * n; e++) {
      const want = alpha * exact[e] + beta * prior[e];
      if (!(Math.abs(got[e] - want) <= sumError(e) + 2 ** -23 * Math.abs(want))) assert.fail(`${what} fp32 out: element ${e} is ${got[e]}, exact ${want}`);
    }
    // bf16 out, beta 0: the fp32 result rounded once.
    const cb = tensor('bf16', m, n);
    const c0 = tensor('fp32', m, n);
    native.gemm(a, transA, b, transB, cb, alpha, 0);
    native.gemm(a, transA, b, transB, c0, alpha, 0);
    sameBits(bits(cb), toBf16Bits(c0.read()), `${what} bf16 out = rounded fp32 out`);
    // bf16 out with beta: one rounding of alpha AB + beta C, within u of the exact value.
    cb.write(toBf16Bits(prior));
    native.gemm(a, transA, b, transB, cb, alpha, beta);
    const gotB = fromBf16Bits(bits(cb));
    for (let e = 0; e < m * n; e++) {
      const want = alpha * exact[e] + beta * priorBf16[e];
      if (!(Math.abs(gotB[e] - want) <= u * Math.abs(want) + 2 * sumError(e))) assert.fail(`${what} bf16 out with beta: element ${e} is ${gotB[e]}, exact ${want}`);
    }
    for (const t of [cf, cb, c0]) t.free();
  }
  for (const t of [A.b, A.f, Bm.b, Bm.f, At.b, At.f, Bt.b, Bt.f]) t.free();
});

test('gemm with bf16 inputs, blocked: m, n or k past what one conversion buffer holds, equals fp32 sgemm on the decoded inputs', () => {
  const native = core();
  // The buffer holds 4M floats of blocks (A, B and, for a bf16 C, C): each shape overflows it in
  // one dimension, so that dimension is split (k, with a bf16 C, accumulates over its blocks).
  const shapes = [
    { m: 300, n: 300, k: 8000 },
    { m: 22000, n: 64, k: 200 },
    { m: 64, n: 14000, k: 300 },
  ];
  const bufferFloats = native.cpuBf16GemmWorkspaceBytes / 4;
  for (const { m, n, k } of shapes) {
    assert.ok(m * k + k * n > bufferFloats, `${m} x ${n} x ${k} overflows the buffer even with an fp32 C`);
    const a = bf16Pair(withOutliers(m, k, m), m, k);
    const b = bf16Pair(withOutliers(k, n, n), k, n);
    const abs = (t: NativeTensor, r: number, c: number) => floats(Float32Array.from(t.read() as Float32Array, Math.abs), r, c);
    // sum |a||b| per element: the scale of fp32 summation's error (k 2^-24 of it, the classic bound).
    const magnitude = tensor('fp32', m, n);
    native.gemm(abs(a.f, m, k), false, abs(b.f, k, n), false, magnitude, 1, 0);
    const mag = magnitude.read();
    const want = tensor('fp32', m, n);
    native.gemm(a.f, false, b.f, false, want, 1, 0);
    const ref = want.read();
    // Every transposition, from transposed copies of the same values.
    const transposed = (t: NativeTensor, r: number, c: number) => {
      const x = bits(t);
      const out = tensor('bf16', c, r);
      out.write(Uint16Array.from({ length: r * c }, (_, e) => x[(e % r) * c + Math.floor(e / r)]));
      return out;
    };
    const aT = transposed(a.b, m, k);
    const bT = transposed(b.b, k, n);
    const got = tensor('fp32', m, n);
    const gotB = tensor('bf16', m, n);
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const what = `${m} x ${n} x ${k}, ${transA ? 'A^T' : 'A'} x ${transB ? 'B^T' : 'B'}`;
      native.gemm(transA ? aT : a.b, transA, transB ? bT : b.b, transB, got, 1, 0);
      native.gemm(transA ? aT : a.b, transA, transB ? bT : b.b, transB, gotB, 1, 0);
      const g = got.read();
      const gb = fromBf16Bits(bits(gotB));
      for (let e = 0; e < m * n; e++) {
        const sumError = 2 * k * 2 ** -24 * mag[e];
        if (!(Math.abs(g[e] - ref[e]) <= sumError)) assert.fail(`${what}, fp32 out: element ${e} is ${g[e]}, fp32 sgemm ${ref[e]}`);
        if (!(Math.abs(gb[e] - ref[e]) <= u * Math.abs(ref[e]) + 2 * sumError)) assert.fail(`${what}, bf16 out: element ${e} is ${gb[e]}, fp32 sgemm ${ref[e]}`);
      }
    }
    for (const t of [a.b, a.f, b.b, b.f, aT, bT, magnitude, want, got, gotB]) t.free();
  }
});

test("gemm with bf16 inputs takes its conversion buffer from 'workspace' for the call only; mixed dtypes are refused", () => {
  const native = core();
  const a = tensor('bf16', 40, 30);
  const c = tensor('bf16', 40, 40);
  native.fillRandom(a, 1, 2, 3, 'uniform', -1, 1);
  const before = native.memoryStats('cpu');
  native.resetMemoryPeaks('cpu');
  native.gemm(a, false, a, true, c, 1, 0);
  const after = native.memoryStats('cpu');
  assert.equal(after.peak.workspace - before.current.workspace, native.cpuBf16GemmWorkspaceBytes, 'the buffer, during the call');
  assert.equal(after.current.workspace, before.current.workspace, 'freed after the call');
  assert.equal(testBackend().libraryWorkspaceBytes('bf16'), native.cpuBf16GemmWorkspaceBytes);
  assert.equal(testBackend().libraryWorkspaceBytes('fp32'), 0);
  const f = tensor('fp32', 40, 30);
  assert.throws(() => native.gemm(a, false, f, true, c, 1, 0), /gemm \(cpu\): expected fp32 a, b and c, or bf16 a and b with an fp32 or bf16 c/);
  for (const t of [a, c, f]) t.free();
});

