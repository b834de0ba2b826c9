/**
 * bf16 storage on the CPU backend, op by op (ops/cpu/bf16.h): fp32 math with the storage
 * rounded to nearest even at the points where the CUDA kernels round (ops/cuda/cuda_util.cuh's
 * fromF), so a bf16 CPU run is the GPU's twin. Two checks per op:
 *   - the twin: the bf16 path equals the fp32 path run on the decoded bf16 inputs, with its
 *     output rounded by test/bf16.ts (bit for bit: the same fp32 instructions, one rounding);
 *   - float64: within bf16's unit roundoff u = 2^-8 where the op rounds its output (a correctly
 *     rounded value is within u of the exact one; fp32's own error, ~1e-6, is far inside), and
 *     within fp32 tolerances where it does not.
 * Row lengths that are not a multiple of any vector width (1, 3, 17, 77, ...) run the one-lane
 * tails; rows of 1e3 and 1e-3 scale are the outliers. The GEMM is in bf16-gemm.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core, type NativeTensor } from '../src/core/index.js';
import { allocate } from '../src/core/backend.js';
import { MARGINS, alignedColumns } from '../src/strategies/index.js';
import { testBackend, lcg } from './helpers.js';
import { BF16_UNIT_ROUNDOFF, bf16Bits, bf16Pair, floats, fromBf16Bits, roundBf16, sameBits, tensor, toBf16Bits, withOutliers } from './bf16.js';

const u = BF16_UNIT_ROUNDOFF;

function sameFloats(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** |actual - exact| <= rel * |exact| + abs, element by element. */
function within(actual: ArrayLike<number>, exact: ArrayLike<number>, rel: number, abs: number, what: string): void {
  assert.equal(actual.length, exact.length, `${what}: length`);
  for (let i = 0; i < exact.length; i++) {
    const bound = rel * Math.abs(exact[i]) + abs;
    if (!(Math.abs(actual[i] - exact[i]) <= bound)) assert.fail(`${what}: element ${i} is ${actual[i]}, exact ${exact[i]} (bound ${bound})`);
  }
}

const bits = (t: NativeTensor) => t.read() as Uint16Array;

test('bf16 rounding in the core: to nearest, ties to even, overflow to infinity, NaN to 0x7FFF (fillConstant, gemm output)', () => {
  const values = [
    0, -0, 1, -1, 1 + 2 ** -8 /* tie: down to even */, 1 + 3 * 2 ** -8 /* tie: up to even */, 1 + 2 ** -8 + 2 ** -20, 1 - 2 ** -9 /* tie below 1 */,
    Math.PI, -Math.E, 65504, 1e-30, 3.3895313892515355e38 /* largest finite bf16 */, 3.4028234663852886e38 /* rounds to infinity */, Infinity, -Infinity, NaN,
  ];
  const expected = values.map(bf16Bits);
  // Hand-checked anchors for the test's own rounding.
  assert.deepEqual([expected[4], expected[5], expected[6], expected[7], expected[13], expected[16]], [0x3f80, 0x3f82, 0x3f81, 0x3f80, 0x7f80, 0x7fff]);
  const one = tensor('bf16', 1, 1);
  const scalar = values.map((v) => {
    core().fillConstant(one, v);
    return bits(one)[0];
  });
  sameBits(scalar, expected, 'fillConstant');
  // 1 x 1 x 1 products 1 * 1 scaled by alpha = the value: the GEMM's rounding of its fp32 result
  // (alpha 0 is BLAS's "do not multiply", which writes +0 whatever its sign: left out).
  const a = tensor('bf16', 1, 1);
  a.write(Uint16Array.of(0x3f80));
  const nonzero = values.filter((v) => v !== 0);
  const viaGemm = nonzero.map((v) => {
    core().gemm(a, false, a, false, one, v, 0);
    return bits(one)[0];
  });
  sameBits(viaGemm, nonzero.map(bf16Bits), 'gemm output');
  for (const t of [one, a]) t.free();
});

test('fillRandom into bf16 is the fp32 fill rounded (uniform and normal)', () => {
  for (const [dist, lo, hi] of [['uniform', -3, 5], ['normal', 0.5, 2]] as const) {
    const f = tensor('fp32', 1031);
    const b = tensor('bf16', 1031);
    core().fillRandom(f, 9, 2, 17, dist, lo, hi);
    core().fillRandom(b, 9, 2, 17, dist, lo, hi);
    sameBits(bits(b), toBf16Bits(f.read()), `${dist} fill`);
    f.free();
    b.free();
  }
});

test('normalizeRows into bf16: the fp32 rows rounded, norms unchanged, within u of float64; gathered rows and the lazy catch-up too', () => {
  const native = core();
  for (const D of [1, 3, 8, 17, 33, 77]) {
    const rows = 9;
    const src = withOutliers(rows, D, D);
    const v = floats(src, rows, D);
    const yf = tensor('fp32', rows, D);
    const yb = tensor('bf16', rows, D);
    const nf = tensor('fp32', rows);
    const nb = tensor('fp32', rows);
    native.normalizeRows(v, null, yf, nf);
    native.normalizeRows(v, null, yb, nb);
    sameBits(bits(yb), toBf16Bits(yf.read()), `D ${D}: bf16 = rounded fp32`);
    sameFloats(nb.read(), nf.read(), `D ${D}: norms`);
    const exact: number[] = [];
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let c = 0; c < D; c++) ss += src[r * D + c] ** 2;
      for (let c = 0; c < D; c++) exact.push(src[r * D + c] / Math.sqrt(ss));
    }
    // One rounding of a value within fp32 error of the exact one: u plus a few fp32 ulps.
    within(fromBf16Bits(bits(yb)), exact, u * (1 + 1e-5), 1e-7, `D ${D}: bf16 vs float64`);
    // Gathered rows (reversed, every other one) with the lazy catch-up fused in.
    const pick = Int32Array.from([8, 6, 4, 2, 0]).reverse();
    const idx = tensor('int32', pick.length);
    idx.write(pick);
    const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    const state = () => {
      const w = floats(src, rows, D);
      const m = floats(withOutliers(rows, D, D + 100).map((x) => x * 1e-3), rows, D);
      const last = tensor('int32', rows);
      last.write(Int32Array.from({ length: rows }, (_, r) => r % 3));
      return { w, m, last };
    };
    const sf = state();
    const sb = state();
    const gf = tensor('fp32', pick.length, D);
    const gb = tensor('bf16', pick.length, D);
    const norms = tensor('fp32', pick.length);
    native.normalizeRows(sf.w, idx, gf, norms, { momentum: sf.m, lastStep: sf.last, step: 5, sgd });
    native.normalizeRows(sb.w, idx, gb, norms, { momentum: sb.m, lastStep: sb.last, step: 5, sgd });
    sameBits(bits(gb), toBf16Bits(gf.read()), `D ${D}: gathered with catch-up, bf16 = rounded fp32`);
    sameFloats(sb.w.read(), sf.w.read(), `D ${D}: caught-up centres`);
    sameFloats(sb.m.read(), sf.m.read(), `D ${D}: caught-up momentum`);
    for (const t of [v, yf, yb, nf, nb, idx, gf, gb, norms, ...Object.values(sf), ...Object.values(sb)]) t.free();
  }
});

test('normalizeRowsBackward and sgdNormalizedUpdate read bf16 normalized rows as the fp32 path reads their decoded values', () => {
  const native = core();
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  for (const D of [1, 5, 16, 77]) {
    const rows = 7;
    const src = withOutliers(rows, D, 40 + D);
    const v = floats(src, rows, D);
    const yb = tensor('bf16', rows, D);
    const norms = tensor('fp32', rows);
    native.normalizeRows(v, null, yb, norms);
    const yf = floats(fromBf16Bits(bits(yb)), rows, D);
    const dy = withOutliers(rows, D, 50 + D);
    const gb = floats(dy, rows, D);
    const gf = floats(dy, rows, D);
    native.normalizeRowsBackward(gb, yb, norms);
    native.normalizeRowsBackward(gf, yf, norms);
    sameFloats(gb.read(), gf.read(), `D ${D}: backward`);
    // float64 on the decoded rows: (dy - y (y . dy)) / norm, fp32's tolerance (nothing is rounded to bf16).
    const y = fromBf16Bits(bits(yb));
    const n = norms.read();
    const exact: number[] = [];
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let c = 0; c < D; c++) dot += y[r * D + c] * dy[r * D + c];
      for (let c = 0; c < D; c++) exact.push((dy[r * D + c] - y[r * D + c] * dot) / n[r]);
    }
    const scale = Math.max(...exact.map(Math.abs));
    within(gb.read(), exact, 1e-5, 1e-5 * scale, `D ${D}: backward vs float64`);
    // The fused update of every other centre of a 2 x rows shard.
    const idx = tensor('int32', rows);
    idx.write(Int32Array.from({ length: rows }, (_, k) => 2 * k + 1));
    const shard = withOutliers(2 * rows, D, 60 + D);
    const run = (normalized: NativeTensor) => {
      const w = floats(shard, 2 * rows, D);
      const m = floats(shard.map((x) => x * 0.01), 2 * rows, D);
      const grad = floats(dy, rows, D);
      native.sgdNormalizedUpdate({ weights: w, momentum: m, gradNormalized: grad, normalized, norms, indices: idx, rates: sgd, lastStep: null, step: 0 });
      const out = { w: w.read(), m: m.read() };
      for (const t of [w, m, grad]) t.free();
      return out;
    };
    const ub = run(yb);
    const uf = run(yf);
    sameFloats(ub.w, uf.w, `D ${D}: updated centres`);
    sameFloats(ub.m, uf.m, `D ${D}: updated momentum`);
    for (const t of [v, yb, yf, norms, gb, gf, idx]) t.free();
  }
});

test('the margin softmax on bf16 logits: statistics equal the fp32 pass on the decoded cosines, the gradient is its rounding, padding 0', () => {
  const native = core();
  const B = 7;
  const margin = MARGINS.arcface;
  for (const A of [1, 13, 101]) {
    const ld = alignedColumns(A);
    const rand = lcg(A);
    const cos = Float32Array.from({ length: B * ld }, (_, e) => ((e % ld) < A ? rand() * 2.2 - 1.1 : 3)); // padding 3.0 (masked)
    const labels = tensor('int32', B);
    labels.write(Int32Array.from({ length: B }, (_, i) => (i === 3 ? -1 : Math.floor(rand() * A))));
    const logits = bf16Pair(cos, B, ld);
    // Two column tiles of the fused step when A allows, else the whole row.
    const tiles = A > 1 ? [[0, Math.ceil(A / 2)], [Math.ceil(A / 2), A]] : [[0, A]];
    const stats = () => ({ targetCos: tensor('fp32', B), localMax: tensor('fp32', B), rowMax: tensor('fp32', B), rowSum: tensor('fp32', B), targetLogit: tensor('fp32', B) });
    const sb = stats();
    const sf = stats();
    const tileLogits: { b: NativeTensor; f: NativeTensor; first: number; cols: number }[] = [];
    for (const [first, end] of tiles) {
      const cols = end - first;
      const tld = alignedColumns(cols);
      const part = new Float32Array(B * tld).fill(3);
      const decoded = fromBf16Bits(bits(logits.b));
      for (let i = 0; i < B; i++) for (let j = 0; j < cols; j++) part[i * tld + j] = decoded[i * ld + first + j];
      const t = bf16Pair(part, B, tld);
      const columns = { offset: first, active: A };
      native.marginSoftmaxStats({ logits: t.b, cols, labels, margin, targetCos: sb.targetCos, localMax: sb.localMax, rowMax: sb.rowMax, rowSum: sb.rowSum, targetLogit: sb.targetLogit, columns });
      native.marginSoftmaxStats({ logits: t.f, cols, labels, margin, targetCos: sf.targetCos, localMax: sf.localMax, rowMax: sf.rowMax, rowSum: sf.rowSum, targetLogit: sf.targetLogit, columns });
      tileLogits.push({ ...t, first, cols });
    }
    for (const key of ['targetCos', 'rowMax', 'rowSum', 'targetLogit'] as const) sameFloats(sb[key].read(), sf[key].read(), `A ${A}: ${key}`);
    // float64 on the decoded cosines: the row max and sum of exp with the margin on the target.
    const decoded = fromBf16Bits(bits(logits.b));
    const lab = labels.read() as Int32Array;
    for (let i = 0; i < B; i++) {
      const z = Array.from({ length: A }, (_, j) => {
        const c = Math.min(Math.max(decoded[i * ld + j], -1), 1);
        return margin.s * (j === lab[i] ? Math.cos(margin.m1 * Math.acos(c) + margin.m2) - margin.m3 : c);
      });
      const max = Math.max(...z);
      const sum = z.reduce((acc, x) => acc + Math.exp(x - max), 0);
      within([sb.rowMax.read()[i], sb.rowSum.read()[i]], [max, sum], 1e-5, 1e-6, `A ${A} row ${i}: max and sum vs float64`);
    }
    for (const t of tileLogits) {
      const columns = { offset: t.first, active: A };
      native.marginSoftmaxGrad({ logits: t.b, cols: t.cols, labels, margin, rowMax: sb.rowMax, rowSum: sb.rowSum, targetCos: sb.targetCos, gradScale: 1 / B, columns });
      native.marginSoftmaxGrad({ logits: t.f, cols: t.cols, labels, margin, rowMax: sf.rowMax, rowSum: sf.rowSum, targetCos: sf.targetCos, gradScale: 1 / B, columns });
      sameBits(bits(t.b), toBf16Bits(t.f.read()), `A ${A}, tile at ${t.first}: gradient = rounded fp32 gradient`);
      const g = bits(t.b);
      const tld = t.b.cols;
      for (let i = 0; i < B; i++) for (let j = t.cols; j < tld; j++) assert.equal(g[i * tld + j], 0, `A ${A}: padding column ${j} is +0`);
    }
    for (const t of [labels, logits.b, logits.f, ...Object.values(sb), ...Object.values(sf), ...tileLogits.flatMap((x) => [x.b, x.f])]) t.free();
  }
});

test('the CPU kernels refuse fp16 storage, naming the op and the dtypes they take', () => {
  const native = core();
  const v = tensor('fp32', 2, 4);
  const y = allocate(testBackend(), 'workspace', 'fp16', 2, 4);
  const norms = tensor('fp32', 2);
  assert.throws(() => native.normalizeRows(v, null, y, norms), /normalizeRows \(cpu\): dst must be fp32 or bf16, got .*fp16/);
  assert.throws(() => native.fillRandom(y, 1, 1, 0, 'uniform', 0, 1), /fillRandom \(cpu\): tensor must be fp32 or bf16/);
  assert.equal(roundBf16(1 + 2 ** -8), 1); // the helper itself: a tie goes to the even neighbour
  for (const t of [v, y, norms]) t.free();
});
