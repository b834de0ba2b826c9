/**
 * The prepared check for a GPU machine (scripts/gpu-check.sh runs it):
 *   1. cuBLAS's workspace is in the tagged accounting ('workspace');
 *   2. every op family on CUDA against the CPU backend on the same seeded inputs (odd shapes,
 *      outliers), fp32 with tight and bf16 storage with loose tolerances: the softmax's two
 *      passes on a padded leading dimension (padding masked), sampling bit for bit (active
 *      count known on the host and copied back, a 29M@8-sized shard), normalizeRows on its
 *      three row paths, the lazy rule's catch-up (fused into the normalization, and the flush)
 *      and the SGD with the normalization backward fused;
 *   3. a full step of every strategy and update rule, CUDA against CPU, and every registered
 *      strategy's descriptor examples (each declared update and logits mode) CUDA against CPU with
 *      their allocations against the memory model; lazy-dense against eager
 *      dense on CUDA after 40 steps without a read (rows idle for long stretches); the logit-free
 *      step: its tiled softmax passes and idle-row SGD against the CPU's, fused equal to
 *      materialized on CUDA (fp32, bf16) and fused CUDA equal to fused CPU (fp32, bf16);
 *   3b. bf16 on the GPU against bf16 on the CPU op by op, on the same pre-rounded inputs: both
 *      round to bf16 at the same points with fp32 math (docs/design.md, storage types);
 *   4. a GEMM past 2^31 output elements (model parallel's 29M@8 logits) at its far corner;
 *   5. a one-rank NCCL communicator through the binding, without MPI;
 *   6. writes a JSON verdict. The benchmarks are run by the shell script through the CLI.
 * Each section runs in its own process (gpu-sections.ts): a throw is one failed check, a kernel
 * fault or a hang (killed past SECTION_TIMEOUT_S) fails that section alone, and the next one
 * starts afresh. Without a usable CUDA device it says so and exits 0.
 * With PFC_GPU_CHECK_BACKEND=cuda-sim (gpu-check.sh --simulate) every section runs on the
 * simulated device: the .cu kernels on the host CPU, against the CPU backend. The 64-bit GEMM
 * is then a bf16 one of 16 columns (still past 2^31 outputs, in 4.3 GB rather than 15 GB).
 * Strategies come from the registry: a strategy module's are checked too when PFC_STRATEGY_MODULES
 * names them (a JSON array of module files; each section's process inherits it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSections, type Check } from './gpu-sections.js';
import { loadStrategyModulesFromEnv } from '../src/strategies/modules.js';
import { exampleCases, exampleConfig } from '../src/strategies/harness.js';
import { modelMemory, totalBytes } from '../src/strategies/memory-model.js';
import { core, allocate, selectBackend, MEMORY_CATEGORIES, type Backend, type NativeTensor, type DType } from '../src/core/index.js';
import { singleCommunicator } from '../src/comm/local.js';
import { methodLabel } from '../src/bench/method.js';
import { alignedColumns, createStrategy, DEFAULT_SGD, MARGINS, strategyDescriptors, SyntheticBatch, validateFcConfig, type StrategyName, type UpdateKind } from '../src/strategies/index.js';

const checks: Check[] = [];
/** The device under check: 'cuda', or 'cuda-sim' for the simulated device (--simulate). */
const GPU_BACKEND = process.env.PFC_GPU_CHECK_BACKEND ?? 'cuda';
if (GPU_BACKEND !== 'cuda' && GPU_BACKEND !== 'cuda-sim') throw new Error(`PFC_GPU_CHECK_BACKEND: expected cuda or cuda-sim, got '${GPU_BACKEND}'`);
const SIMULATED = GPU_BACKEND === 'cuda-sim';
// The simulated device replaces the process's core: choose it before anything touches the core.
if (SIMULATED) selectBackend('cuda-sim');

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return a.length !== b.length ? Infinity : worst / Math.max(scale, 1e-30);
}

function bf16ToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const view = new DataView(out.buffer);
  bits.forEach((b, i) => view.setUint32(i * 4, b << 16, true));
  return out;
}

function f16ToFloat(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, (h) => {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) return s * m * 2 ** -24;
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * 2 ** (e - 15);
  });
}

/** fp32 values already representable in bf16 (read from bf16 storage, small integers) as bf16 bits. */
function floatToBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Uint16Array.from(bits, (b) => b >>> 16);
}

function readFloats(t: NativeTensor): ArrayLike<number> {
  const data = t.read();
  if (t.dtype === 'bf16') return bf16ToFloat(data as Uint16Array);
  if (t.dtype === 'fp16') return f16ToFloat(data as Uint16Array);
  return data;
}

function record(name: string, a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): void {
  const e = relError(a, b);
  checks.push({ name, ok: e <= tolerance, maxRelError: e, tolerance });
  process.stdout.write(`${e <= tolerance ? 'ok  ' : 'FAIL'} ${name}: max error ${e.toExponential(2)} of scale (tolerance ${tolerance})\n`);
}

/** A pair of tensors (CPU, CUDA) with the same contents. */
function pair(cpu: Backend, gpu: Backend, dtype: DType, rows: number, cols: number, fill: (t: NativeTensor) => void): [NativeTensor, NativeTensor] {
  const a = allocate(cpu, 'workspace', dtype === 'int32' ? 'int32' : 'fp32', rows, cols);
  fill(a);
  const b = allocate(gpu, 'workspace', dtype === 'int32' ? 'int32' : 'fp32', rows, cols);
  core().copyTensor(a, b);
  return [a, b];
}

function withOutliers(t: NativeTensor): void {
  const native = core();
  native.fillRandom(t, 11, 1, 0, 'normal', 0, 1);
  const data = t.read() as Float32Array;
  for (let c = 0; c < t.cols; c++) data[c] *= 1e3;
  if (t.rows > 1) for (let c = 0; c < t.cols; c++) data[t.cols + c] *= 1e-3;
  t.write(data);
}

/** The softmax passes' per-row statistics of B rows on one backend. */
function rowStats(backend: Backend, B: number) {
  const row = () => allocate(backend, 'workspace', 'fp32', B);
  return { targetCos: row(), localMax: row(), rowMax: row(), rowSum: row(), targetLogit: row() };
}

function opChecks(cpu: Backend, gpu: Backend, dtype: 'fp32' | 'bf16'): void {
  const native = core();
  const tol = dtype === 'fp32' ? 2e-5 : 2e-2;
  const B = 67;
  const A = 1031;
  const D = 77;
  const [x, xg] = pair(cpu, gpu, 'fp32', B, D, withOutliers);
  const [w, wg] = pair(cpu, gpu, 'fp32', A, D, withOutliers);
  const [labels, labelsG] = pair(cpu, gpu, 'int32', B, 1, (t) => native.fillLabels(t, 3, 4, 0, A));
  // normalize: the features as they are, the centres through the fused gather of sampled rows
  const normalizeBoth = (what: string, src: NativeTensor, srcG: NativeTensor, rows: number, idx: [NativeTensor, NativeTensor] | null) => {
    const out = allocate(cpu, 'workspace', 'fp32', rows, D);
    const outG = allocate(gpu, 'workspace', dtype, rows, D);
    const norms = allocate(cpu, 'workspace', 'fp32', rows);
    const normsG = allocate(gpu, 'workspace', 'fp32', rows);
    native.normalizeRows(src, idx ? idx[0] : null, out, norms);
    native.normalizeRows(srcG, idx ? idx[1] : null, outG, normsG);
    record(`${dtype} normalizeRows ${what}`, readFloats(outG), out.read(), tol);
    record(`${dtype} normalizeRows ${what} norms`, normsG.read(), norms.read(), 2e-6);
    return outG;
  };
  const xnG = normalizeBoth('features', x, xg, B, null);
  const reversed = (t: NativeTensor) => t.write(Int32Array.from({ length: A }, (_, k) => A - 1 - k));
  const wnG = normalizeBoth('gathered centres', w, wg, A, pair(cpu, gpu, 'int32', A, 1, reversed));
  // gemm (bf16 inputs: compare against CPU on the same rounded inputs)
  const xnRef = allocate(cpu, 'workspace', 'fp32', B, D);
  const wnRef = allocate(cpu, 'workspace', 'fp32', A, D);
  xnRef.write(Float32Array.from(readFloats(xnG)));
  wnRef.write(Float32Array.from(readFloats(wnG)));
  const logits = allocate(cpu, 'workspace', 'fp32', B, A);
  const logitsG = allocate(gpu, 'workspace', dtype, B, A);
  native.gemm(xnRef, false, wnRef, true, logits, 1, 0);
  native.gemm(xnG, false, wnG, true, logitsG, 1, 0);
  record(`${dtype} gemm NT`, readFloats(logitsG), logits.read(), dtype === 'fp32' ? 1e-5 : 1e-2);
  // margin softmax in two passes on the same cosines, in a padded leading dimension whose extra
  // columns hold 3.0 (clamped to 1, the row max if it were not masked)
  const ld = alignedColumns(A);
  const cosines = readFloats(logitsG);
  const padded = new Float32Array(B * ld).fill(3);
  for (let i = 0; i < B; i++) for (let j = 0; j < A; j++) padded[i * ld + j] = cosines[i * A + j];
  const logitsRef = allocate(cpu, 'workspace', 'fp32', B, ld);
  logitsRef.write(padded);
  const logitsPadG = allocate(gpu, 'workspace', dtype, B, ld);
  logitsPadG.write(dtype === 'fp32' ? padded : floatToBf16(padded));
  const sc = rowStats(cpu, B);
  const sg = rowStats(gpu, B);
  const margin = MARGINS.arcface;
  native.marginSoftmaxStats({ logits: logitsRef, cols: A, labels, margin, targetCos: sc.targetCos, localMax: sc.localMax, rowMax: sc.rowMax, rowSum: sc.rowSum, targetLogit: sc.targetLogit });
  native.marginSoftmaxStats({ logits: logitsPadG, cols: A, labels: labelsG, margin, targetCos: sg.targetCos, localMax: sg.localMax, rowMax: sg.rowMax, rowSum: sg.rowSum, targetLogit: sg.targetLogit });
  const statTol = dtype === 'fp32' ? 1e-5 : 1e-4; // same stored cosines: fp32 math on both
  record(`${dtype} marginSoftmaxStats targetCos`, sg.targetCos.read(), sc.targetCos.read(), statTol);
  record(`${dtype} marginSoftmaxStats rowMax`, sg.rowMax.read(), sc.rowMax.read(), statTol);
  record(`${dtype} marginSoftmaxStats rowSum`, sg.rowSum.read(), sc.rowSum.read(), statTol);
  record(`${dtype} marginSoftmaxStats targetLogit`, sg.targetLogit.read(), sc.targetLogit.read(), statTol);
  // as if another shard held a larger max: every row's max raised by 0.75
  const raised = Float32Array.from(sc.rowMax.read() as Float32Array, (m) => m + 0.75);
  sc.rowMax.write(raised);
  sg.rowMax.write(raised);
  native.rescaleRowStats({ labels, localMax: sc.localMax, rowMax: sc.rowMax, rowSum: sc.rowSum, targetLogit: sc.targetLogit });
  native.rescaleRowStats({ labels: labelsG, localMax: sg.localMax, rowMax: sg.rowMax, rowSum: sg.rowSum, targetLogit: sg.targetLogit });
  record(`${dtype} rescaleRowStats rowSum`, sg.rowSum.read(), sc.rowSum.read(), statTol);
  record(`${dtype} rescaleRowStats targetLogit`, sg.targetLogit.read(), sc.targetLogit.read(), statTol);
  const lossC = native.crossEntropyLossSum(sc.rowSum, sc.targetLogit);
  const lossG = native.crossEntropyLossSum(sg.rowSum, sg.targetLogit);
  record(`${dtype} crossEntropyLossSum`, [lossG], [lossC], statTol);
  native.marginSoftmaxGrad({ logits: logitsRef, cols: A, labels, margin, rowMax: sc.rowMax, rowSum: sc.rowSum, targetCos: sc.targetCos, gradScale: 1 / B });
  native.marginSoftmaxGrad({ logits: logitsPadG, cols: A, labels: labelsG, margin, rowMax: sg.rowMax, rowSum: sg.rowSum, targetCos: sg.targetCos, gradScale: 1 / B });
  record(`${dtype} marginSoftmaxGrad (padding columns 0)`, readFloats(logitsPadG), logitsRef.read(), dtype === 'fp32' ? 1e-4 : 3e-2);
  if (dtype === 'fp32') samplingChecks(cpu, gpu);
}

/**
 * The launch plans no other check reaches (the review's blind spots): a row split across blocks
 * (B < 528 with A >= 16384 in fp32, 32768 in bf16), whose chunks a second kernel merges, also
 * inside a later column tile (the tiled merge); B >= 1024 rows on 512-thread blocks; a tile
 * 12,000 wide. The CPU gets the very values the device stores (bf16 pre-rounded), so the two
 * differ only in summation order.
 */
function blindShapeChecks(cpu: Backend, gpu: Backend): void {
  const native = core();
  const cases = [
    { name: 'split rows', dtype: 'fp32' as const, B: 96, A: 40000, tiles: [40000] },
    { name: 'split rows', dtype: 'bf16' as const, B: 96, A: 70000, tiles: [70000] },
    { name: 'split rows in two tiles', dtype: 'fp32' as const, B: 96, A: 40000, tiles: [20000, 20000] },
    { name: 'B 1024 on 512-thread blocks', dtype: 'fp32' as const, B: 1024, A: 8200, tiles: [8200] },
    { name: 'a tile 12,000 wide', dtype: 'bf16' as const, B: 67, A: 24000, tiles: [12000, 12000] },
  ];
  for (const c of cases) {
    const { B, A, dtype } = c;
    const [labels, labelsG] = pair(cpu, gpu, 'int32', B, 1, (t) => native.fillLabels(t, 7, 3, 0, A));
    const sc = rowStats(cpu, B);
    const sg = rowStats(gpu, B);
    const margin = MARGINS.arcface;
    let offset = 0;
    let gradError = 0;
    const title = `${dtype} softmax ${c.name} (B ${B}, A ${A}${c.tiles.length > 1 ? `, tiles of ${c.tiles[0]}` : ''})`;
    const tileData: { cos: NativeTensor; cosG: NativeTensor; width: number; offset: number }[] = [];
    for (const width of c.tiles) {
      const ld = alignedColumns(width);
      const cos = allocate(cpu, 'workspace', 'fp32', B, ld);
      native.fillRandom(cos, 40 + offset, 0, 0, 'uniform', -1, 1);
      const values = cos.read() as Float32Array;
      const stored = dtype === 'bf16' ? bf16ToFloat(floatToBf16Rounded(values)) : values;
      cos.write(stored);
      const cosG = allocate(gpu, 'workspace', dtype, B, ld);
      cosG.write(dtype === 'bf16' ? floatToBf16(stored) : stored);
      const tile = { offset, active: A };
      native.marginSoftmaxStats({ logits: cos, cols: width, labels, margin, targetCos: sc.targetCos, localMax: sc.localMax, rowMax: sc.rowMax, rowSum: sc.rowSum, targetLogit: sc.targetLogit, columns: tile });
      native.marginSoftmaxStats({ logits: cosG, cols: width, labels: labelsG, margin, targetCos: sg.targetCos, localMax: sg.localMax, rowMax: sg.rowMax, rowSum: sg.rowSum, targetLogit: sg.targetLogit, columns: tile });
      tileData.push({ cos, cosG, width, offset });
      offset += width;
    }
    record(`${title}: rowMax`, sg.rowMax.read(), sc.rowMax.read(), 1e-6);
    record(`${title}: rowSum`, sg.rowSum.read(), sc.rowSum.read(), 1e-5);
    record(`${title}: targetLogit`, sg.targetLogit.read(), sc.targetLogit.read(), 1e-6);
    for (const t of tileData) {
      const tile = { offset: t.offset, active: A };
      native.marginSoftmaxGrad({ logits: t.cos, cols: t.width, labels, margin, rowMax: sc.rowMax, rowSum: sc.rowSum, targetCos: sc.targetCos, gradScale: 1 / B, columns: tile });
      native.marginSoftmaxGrad({ logits: t.cosG, cols: t.width, labels: labelsG, margin, rowMax: sg.rowMax, rowSum: sg.rowSum, targetCos: sg.targetCos, gradScale: 1 / B, columns: tile });
      // bf16: the gradient is stored rounded, one bf16 step (2^-8) at most apart.
      gradError = Math.max(gradError, relError(readFloats(t.cosG), t.cos.read() as Float32Array));
      t.cos.free();
      t.cosG.free();
    }
    const gradTol = dtype === 'fp32' ? 1e-4 : 1e-2;
    checks.push({ name: `${title}: gradient`, ok: gradError <= gradTol, maxRelError: gradError, tolerance: gradTol });
    process.stdout.write(`${gradError <= gradTol ? 'ok  ' : 'FAIL'} ${title}: gradient max error ${gradError.toExponential(2)} (tolerance ${gradTol})\n`);
    for (const t of [labels, labelsG, ...Object.values(sc), ...Object.values(sg)]) t.free();
  }
}

/** fp32 values as bf16 bits, rounded to nearest even (as the device stores them). */
function floatToBf16Rounded(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Uint16Array.from(bits, (b) => ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff);
}

/** The same bf16 values on the CPU and the device (bits copied, so both hold one rounding). */
function bf16Pair(cpu: Backend, gpu: Backend, values: Float32Array, rows: number, cols: number): [NativeTensor, NativeTensor] {
  const a = allocate(cpu, 'workspace', 'bf16', rows, cols);
  a.write(roundToBf16Bits(values));
  const b = allocate(gpu, 'workspace', 'bf16', rows, cols);
  core().copyTensor(a, b);
  return [a, b];
}

/** fp32 -> bf16 bits, to nearest even (as both backends round; NaN is not expected here). */
function roundToBf16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(Float32Array.from(values).buffer);
  return Uint16Array.from(bits, (b) => Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536));
}

/**
 * bf16 on the GPU against bf16 on the CPU backend (its twin: the same rounding points, fp32
 * math), op by op on the same pre-rounded bf16 inputs. Where an op stores bf16, the two round
 * values that differ by fp32 rounding only: equal, or one bf16 step (2^-7 of the value) apart
 * where they straddle a rounding boundary, hence 2^-7 of the scale. Where the output is fp32,
 * fp32's tolerances.
 */
function bf16TwinChecks(cpu: Backend, gpu: Backend): void {
  const native = core();
  const step = 2 ** -7;
  const B = 67;
  const A = 1031;
  const D = 77;
  const margin = MARGINS.arcface;
  const [x, xG] = pair(cpu, gpu, 'fp32', B, D, withOutliers);
  const [w, wG] = pair(cpu, gpu, 'fp32', A, D, withOutliers);
  const [labels, labelsG] = pair(cpu, gpu, 'int32', B, 1, (t) => native.fillLabels(t, 3, 4, 0, A));
  // normalizeRows into bf16 from the same fp32 rows.
  const both = (backend: Backend, rows: number) => ({ y: allocate(backend, 'workspace', 'bf16', rows, D), n: allocate(backend, 'workspace', 'fp32', rows) });
  const xn = both(cpu, B);
  const xnG = both(gpu, B);
  native.normalizeRows(x, null, xn.y, xn.n);
  native.normalizeRows(xG, null, xnG.y, xnG.n);
  record('bf16 GPU vs bf16 CPU: normalizeRows', readFloats(xnG.y), readFloats(xn.y), step);
  record('bf16 GPU vs bf16 CPU: normalizeRows norms', xnG.n.read(), xn.n.read(), 2e-6);
  // From here every input is pre-rounded: the CPU's bf16 rows, copied bit for bit.
  const [fx, fxG] = bf16Pair(cpu, gpu, Float32Array.from(readFloats(xn.y)), B, D);
  const wn = both(cpu, A);
  native.normalizeRows(w, null, wn.y, wn.n);
  const [fw, fwG] = bf16Pair(cpu, gpu, Float32Array.from(readFloats(wn.y)), A, D);
  const [wNorms, wNormsG] = pair(cpu, gpu, 'fp32', A, 1, (t) => t.write(wn.n.read()));
  // gemm: bf16 inputs, bf16 output (the logits) and fp32 output (dW).
  const ld = alignedColumns(A);
  const cos = allocate(cpu, 'workspace', 'bf16', B, A);
  const cosG = allocate(gpu, 'workspace', 'bf16', B, A);
  native.gemm(fx, false, fw, true, cos, 1, 0);
  native.gemm(fxG, false, fwG, true, cosG, 1, 0);
  record('bf16 GPU vs bf16 CPU: gemm NT, bf16 out', readFloats(cosG), readFloats(cos), step);
  // The softmax passes on the same bf16 cosines in a padded leading dimension (padding 3.0).
  const padded = new Float32Array(B * ld).fill(3);
  const cosines = readFloats(cos);
  for (let i = 0; i < B; i++) for (let j = 0; j < A; j++) padded[i * ld + j] = cosines[i * A + j];
  const [logits, logitsG] = bf16Pair(cpu, gpu, padded, B, ld);
  const sc = rowStats(cpu, B);
  const sg = rowStats(gpu, B);
  native.marginSoftmaxStats({ logits, cols: A, labels, margin, targetCos: sc.targetCos, localMax: sc.localMax, rowMax: sc.rowMax, rowSum: sc.rowSum, targetLogit: sc.targetLogit });
  native.marginSoftmaxStats({ logits: logitsG, cols: A, labels: labelsG, margin, targetCos: sg.targetCos, localMax: sg.localMax, rowMax: sg.rowMax, rowSum: sg.rowSum, targetLogit: sg.targetLogit });
  for (const key of ['targetCos', 'rowMax', 'rowSum', 'targetLogit'] as const) record(`bf16 GPU vs bf16 CPU: marginSoftmaxStats ${key}`, sg[key].read(), sc[key].read(), 1e-5);
  native.marginSoftmaxGrad({ logits, cols: A, labels, margin, rowMax: sc.rowMax, rowSum: sc.rowSum, targetCos: sc.targetCos, gradScale: 1 / B });
  native.marginSoftmaxGrad({ logits: logitsG, cols: A, labels: labelsG, margin, rowMax: sg.rowMax, rowSum: sg.rowSum, targetCos: sg.targetCos, gradScale: 1 / B });
  record('bf16 GPU vs bf16 CPU: marginSoftmaxGrad (padding columns 0)', readFloats(logitsG), readFloats(logits), step);
  // The backward GEMMs from the same bf16 dlogits (the CPU's, copied), fp32 out.
  const [g, gG] = bf16Pair(cpu, gpu, Float32Array.from(readFloats(logits)), B, ld);
  const centres = readFloats(fw);
  const [fwPad, fwPadG] = bf16Pair(cpu, gpu, Float32Array.from({ length: ld * D }, (_, e) => (e < A * D ? centres[e] : 0)), ld, D);
  const dx = allocate(cpu, 'workspace', 'fp32', B, D);
  const dxG = allocate(gpu, 'workspace', 'fp32', B, D);
  native.gemm(g, false, fwPad, false, dx, 1, 0);
  native.gemm(gG, false, fwPadG, false, dxG, 1, 0);
  record('bf16 GPU vs bf16 CPU: gemm NN (dx), fp32 out', dxG.read(), dx.read(), 1e-5);
  const dw = allocate(cpu, 'workspace', 'fp32', ld, D);
  const dwG = allocate(gpu, 'workspace', 'fp32', ld, D);
  native.gemm(g, true, fx, false, dw, 1, 0);
  native.gemm(gG, true, fxG, false, dwG, 1, 0);
  record('bf16 GPU vs bf16 CPU: gemm TN (dW), fp32 out', dwG.read(), dw.read(), 1e-5);
  // The normalization backward and the fused SGD read the same bf16 rows.
  const [dxc, dxcG] = pair(cpu, gpu, 'fp32', B, D, (t) => t.write(dx.read()));
  const [xNorms, xNormsG] = pair(cpu, gpu, 'fp32', B, 1, (t) => t.write(xn.n.read()));
  native.normalizeRowsBackward(dxc, fx, xNorms);
  native.normalizeRowsBackward(dxcG, fxG, xNormsG);
  record('bf16 GPU vs bf16 CPU: normalizeRowsBackward', dxcG.read(), dxc.read(), 2e-5);
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  const [mom, momG] = pair(cpu, gpu, 'fp32', A, D, (t) => native.fillRandom(t, 12, 3, 0, 'normal', 0, 0.1));
  const dwA = dw.view(0, A);
  const [grad, gradG] = pair(cpu, gpu, 'fp32', A, D, (t) => t.write(dwA.read()));
  native.sgdNormalizedUpdate({ weights: w, momentum: mom, gradNormalized: grad, normalized: fw, norms: wNorms, indices: null, rates: sgd, lastStep: null, step: 0 });
  native.sgdNormalizedUpdate({ weights: wG, momentum: momG, gradNormalized: gradG, normalized: fwG, norms: wNormsG, indices: null, rates: sgd, lastStep: null, step: 0 });
  record('bf16 GPU vs bf16 CPU: sgdNormalizedUpdate centres', wG.read(), w.read(), 1e-5);
  record('bf16 GPU vs bf16 CPU: sgdNormalizedUpdate momentum', momG.read(), mom.read(), 1e-5);
}

/** Threshold selection on the device picks the CPU's rows, bit for bit: with the count known on
 * the host (no copy) and not (positives may outnumber the sample), up to a 29M@8-sized shard. */
function samplingChecks(cpu: Backend, gpu: Backend): void {
  const native = core();
  const cases = [
    { name: 'count copied back', offset: 5003, size: 5003, numSampled: 500, batch: 600, classes: 20000 },
    { name: 'positives outnumber the sample', offset: 0, size: 700, numSampled: 7, batch: 600, classes: 1400 },
    { name: 'count known (29M@8 shard, rate 0.1)', offset: 3625000, size: 3625000, numSampled: 362500, batch: 1024, classes: 29000000 },
    { name: 'every row', offset: 64, size: 640, numSampled: 640, batch: 96, classes: 2000 },
  ];
  for (const c of cases) {
    const keys = allocate(cpu, 'workspace', 'int32', c.size, 2);
    const keysG = allocate(gpu, 'workspace', 'int32', c.size, 2);
    const cap = Math.max(Math.min(c.batch, c.size), c.numSampled);
    const idx = allocate(cpu, 'workspace', 'int32', cap);
    const idxG = allocate(gpu, 'workspace', 'int32', cap);
    const [glabels, glabelsG] = pair(cpu, gpu, 'int32', c.batch, 1, (t) => native.fillLabels(t, 5, 6, 0, c.classes));
    const rem = allocate(cpu, 'workspace', 'int32', c.batch);
    const remG = allocate(gpu, 'workspace', 'int32', c.batch);
    const spec = { shardOffset: c.offset, shardSize: c.size, numSampled: c.numSampled, seed: 9, stream: 2 };
    const n = native.sampleCentres(glabels, spec, keys, idx, rem);
    const nG = native.sampleCentres(glabelsG, spec, keysG, idxG, remG);
    const same = n === nG && String(idx.view(0, n).read()) === String(idxG.view(0, nG).read()) && String(rem.read()) === String(remG.read());
    const name = `sampleCentres ${c.name}: identical indices and remapped labels`;
    checks.push({ name, ok: same, maxRelError: same ? 0 : 1, tolerance: 0 });
    process.stdout.write(`${same ? 'ok  ' : 'FAIL'} ${name} (${n} vs ${nG})\n`);
    for (const t of [keys, keysG, idx, idxG, glabels, glabelsG, rem, remG]) t.free();
  }
}

/** normalizeRows on the register-held path (D <= 512, <= 1024) and the two-read path (D > 1024). */
function normalizeChecks(cpu: Backend, gpu: Backend): void {
  const native = core();
  // D 512: the register-held path at its widest (4 packs per lane).
  for (const D of [128, 512, 1000, 2048]) {
    const rows = 333;
    const [src, srcG] = pair(cpu, gpu, 'fp32', rows, D, withOutliers);
    const out = allocate(cpu, 'workspace', 'fp32', rows, D);
    const norms = allocate(cpu, 'workspace', 'fp32', rows);
    native.normalizeRows(src, null, out, norms);
    for (const dtype of ['fp32', 'bf16'] as const) {
      const outG = allocate(gpu, 'workspace', dtype, rows, D);
      const normsG = allocate(gpu, 'workspace', 'fp32', rows);
      native.normalizeRows(srcG, null, outG, normsG);
      record(`${dtype} normalizeRows D ${D}`, readFloats(outG), out.read(), dtype === 'fp32' ? 2e-6 : 1e-2);
      record(`${dtype} normalizeRows D ${D} norms`, normsG.read(), norms.read(), 2e-6);
      outG.free();
      normsG.free();
    }
    for (const t of [src, srcG, out, norms]) t.free();
  }
}

/** The SGD family: the lazy rule's catch-up (lags up to 10^6 steps, then a flush) and the update
 * with the normalization backward fused, CUDA against CPU, on the vector (D % 4 == 0) and scalar paths. */
function sgdChecks(cpu: Backend, gpu: Backend): void {
  const native = core();
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  for (const D of [128, 77, 2052]) { // registers, scalar, two-read vector paths
    const rows = 1001;
    const [w, wG] = pair(cpu, gpu, 'fp32', rows, D, withOutliers);
    const [v, vG] = pair(cpu, gpu, 'fp32', rows, D, (t) => native.fillRandom(t, 12, 3, 0, 'normal', 0, 0.1));
    const lags = Int32Array.from({ length: rows }, (_, r) => 1_000_000 - (r % 7 === 0 ? 999_999 : (r * 7919) % 5000));
    const [last, lastG] = pair(cpu, gpu, 'int32', rows, 1, (t) => t.write(lags));
    const every3 = Int32Array.from({ length: Math.ceil(rows / 3) }, (_, k) => 3 * k);
    const [idx, idxG] = pair(cpu, gpu, 'int32', every3.length, 1, (t) => t.write(every3));
    // The catch-up fused into the gather of the normalization (the step's path).
    const yc = allocate(cpu, 'workspace', 'fp32', every3.length, D);
    const ycG = allocate(gpu, 'workspace', 'fp32', every3.length, D);
    const nc = allocate(cpu, 'workspace', 'fp32', every3.length);
    const ncG = allocate(gpu, 'workspace', 'fp32', every3.length);
    native.normalizeRows(w, idx, yc, nc, { momentum: v, lastStep: last, step: 1_000_000, sgd });
    native.normalizeRows(wG, idxG, ycG, ncG, { momentum: vG, lastStep: lastG, step: 1_000_000, sgd });
    record(`D ${D} normalizeRows with catch-up: centres`, wG.read(), w.read(), 1e-6);
    record(`D ${D} normalizeRows with catch-up: momentum`, vG.read(), v.read(), 1e-6);
    record(`D ${D} normalizeRows with catch-up: normalized`, ycG.read(), yc.read(), 2e-6);
    record(`D ${D} normalizeRows with catch-up: norms`, ncG.read(), nc.read(), 2e-6);
    native.sgdCatchUp(w, v, last, null, 1_000_100, sgd);
    native.sgdCatchUp(wG, vG, lastG, null, 1_000_100, sgd);
    record(`D ${D} sgdCatchUp flush: centres`, wG.read(), w.read(), 1e-6);
    record(`D ${D} sgdCatchUp flush: momentum`, vG.read(), v.read(), 1e-6);
    const sameLast = String(lastG.read()) === String(last.read());
    checks.push({ name: `D ${D} sgdCatchUp: last steps`, ok: sameLast, maxRelError: sameLast ? 0 : 1, tolerance: 0 });
    // Fused normalization backward + sparse update, lazy stamps, on the listed rows.
    const A = every3.length;
    const [src, srcG] = pair(cpu, gpu, 'fp32', A, D, withOutliers);
    const y = allocate(cpu, 'workspace', 'fp32', A, D);
    const yG = allocate(gpu, 'workspace', 'fp32', A, D);
    const norms = allocate(cpu, 'workspace', 'fp32', A);
    const normsG = allocate(gpu, 'workspace', 'fp32', A);
    native.normalizeRows(src, null, y, norms);
    native.normalizeRows(srcG, null, yG, normsG);
    const [dy, dyG] = pair(cpu, gpu, 'fp32', A, D, (t) => native.fillRandom(t, 13, 4, 0, 'normal', 0, 1));
    native.sgdNormalizedUpdate({ weights: w, momentum: v, gradNormalized: dy, normalized: y, norms, indices: idx, rates: sgd, lastStep: last, step: 1_000_100 });
    native.sgdNormalizedUpdate({ weights: wG, momentum: vG, gradNormalized: dyG, normalized: yG, norms: normsG, indices: idxG, rates: sgd, lastStep: lastG, step: 1_000_100 });
    record(`D ${D} sgdNormalizedUpdate: centres`, wG.read(), w.read(), 1e-5);
    record(`D ${D} sgdNormalizedUpdate: momentum`, vG.read(), v.read(), 1e-5);
    const stamped = String(lastG.read()) === String(last.read());
    checks.push({ name: `D ${D} sgdNormalizedUpdate: lazy stamps`, ok: stamped, maxRelError: stamped ? 0 : 1, tolerance: 0 });
    process.stdout.write(`${sameLast && stamped ? 'ok  ' : 'FAIL'} D ${D} lazy steps stamped alike\n`);
  }
  // sgdIdleRows (the fused step's idle rows), CUDA against CPU.
  for (const D of [128, 77]) { // vector and scalar paths
    const rows = 1001;
    const [w, wG] = pair(cpu, gpu, 'fp32', rows, D, withOutliers);
    const [v, vG] = pair(cpu, gpu, 'fp32', rows, D, (t) => native.fillRandom(t, 12, 3, 0, 'normal', 0, 0.1));
    const every7 = Int32Array.from({ length: Math.ceil(rows / 7) }, (_, k) => 7 * k);
    const [idx, idxG] = pair(cpu, gpu, 'int32', every7.length, 1, (t) => t.write(every7));
    const w0 = Float32Array.from(w.read() as Float32Array);
    const v0 = Float32Array.from(v.read() as Float32Array);
    native.sgdIdleRows(w, v, idx, sgd);
    native.sgdIdleRows(wG, vG, idxG, sgd);
    // The changes, not the values: one idle step moves a centre by about lr * mu * v, far below
    // the outlier rows' scale, so values within 1e-6 of scale would pass with no decay at all.
    // 1e-3: a centre of 3e3 holds its change to 2.4e-4 (one fp32 step), 1e-3 of the largest change.
    recordChange(`D ${D} sgdIdleRows: centres`, w0, wG.read(), w.read(), 1e-3);
    recordChange(`D ${D} sgdIdleRows: momentum`, v0, vG.read(), v.read(), 1e-3);
    for (const t of [w, wG, v, vG, idx, idxG]) t.free();
  }
}

/** lazy-dense on the device equals eager dense on the device after many steps without a read
 * (rows idle for long stretches), and equals the CPU's lazy-dense. */
function lazyDenseChecks(cpu: Backend, gpu: Backend): void {
  // Every registered strategy whose lazy-dense keeps a per-row clock (rows that sit steps out).
  for (const d of strategyDescriptors().filter((s) => s.updates.includes('lazy-dense') && s.lazyDenseClock === 'per-shard-row')) lazyDenseCheck(cpu, gpu, d.name);
}

function lazyDenseCheck(cpu: Backend, gpu: Backend, strategy: StrategyName): void {
  const steps = 40;
  const run = (backend: Backend, update: UpdateKind) => {
    const config = validateFcConfig({ strategy, classes: 20011, ranks: 1, batch: 96, dim: 128, sampleRate: 0.02, update, margin: MARGINS.cosface, sgd: { lr: 0.01, momentum: 0.9, weightDecay: 0.05 }, seed: 5, dtype: 'fp32' });
    const s = createStrategy({ backend, comm: singleCommunicator(), config, source: new SyntheticBatch(config.seed, config.classes) });
    const timer = backend.createTimer();
    for (let step = 0; step < steps; step++) {
      s.step(step, timer);
      timer.stop();
    }
    const out = { weights: s.weights.read(), momentum: s.momentum.read() }; // the read flushes
    s.dispose();
    return out;
  };
  const lazyG = run(gpu, 'lazy-dense');
  const denseG = run(gpu, 'dense');
  const lazyC = run(cpu, 'lazy-dense');
  record(`${strategy} lazy-dense vs dense on CUDA, ${steps} steps: centres`, lazyG.weights, denseG.weights, 1e-5);
  record(`${strategy} lazy-dense vs dense on CUDA, ${steps} steps: momentum`, lazyG.momentum, denseG.momentum, 1e-5);
  // Training feeds rounding differences back through the gradients: looser than one step.
  record(`${strategy} lazy-dense CUDA vs CPU, ${steps} steps: centres`, lazyG.weights, lazyC.weights, 5e-5);
  record(`${strategy} lazy-dense CUDA vs CPU, ${steps} steps: momentum`, lazyG.momentum, lazyC.momentum, 5e-5);
}

function strategyChecks(cpu: Backend, gpu: Backend): void {
  // Every registered strategy (a loaded strategy module's too) under each update it declares.
  const cases = strategyDescriptors().flatMap((d) => d.updates.map((update) => ({ strategy: d.name, sampleRate: d.samples ? 0.1 : 1, update })));
  for (const c of cases) {
    const config = validateFcConfig({ ...c, classes: 20011, ranks: 1, batch: 96, dim: 129, margin: MARGINS.cosface, sgd: { ...DEFAULT_SGD, lr: 1e-3 }, seed: 5, dtype: 'fp32' });
    const run = (backend: Backend) => {
      const s = createStrategy({ backend, comm: singleCommunicator(), config, source: new SyntheticBatch(config.seed, config.classes) });
      const timer = backend.createTimer();
      for (let step = 0; step < 3; step++) {
        s.step(step, timer);
        timer.stop();
      }
      const out = { loss: s.loss()!, grad: s.featureGrad.read(), weights: s.weights.read(), momentum: s.momentum.read() };
      s.dispose();
      return out;
    };
    const a = run(cpu);
    const b = run(gpu);
    const name = `${methodLabel(c, true)} fp32, 3 steps`;
    record(`${name}: loss`, [b.loss], [a.loss], 1e-4);
    record(`${name}: feature gradient`, b.grad, a.grad, 2e-3);
    record(`${name}: centres`, b.weights, a.weights, 1e-5);
    record(`${name}: momentum`, b.momentum, a.momentum, 2e-3);
  }
}

/**
 * Every registered strategy's examples (its descriptor's, under each declared update and logits
 * mode, as the CPU tests run them): CUDA against the CPU over 3 steps, and the tagged bytes on
 * CUDA against the memory model (cuBLAS's workspace aside).
 */
function exampleChecks(cpu: Backend, gpu: Backend): void {
  gpu.context(); // creates cuBLAS's handle and workspace now, so no example's allocations count them
  for (const d of strategyDescriptors()) {
    for (const c of exampleCases(d)) {
      const config = exampleConfig({ ...c.overrides, strategy: d.name });
      const run = (backend: Backend) => {
        const before = core().memoryStats(backend.device).current;
        const s = createStrategy({ backend, comm: singleCommunicator(), config, source: new SyntheticBatch(config.seed, config.classes) });
        const timer = backend.createTimer();
        for (let step = 0; step < 3; step++) {
          s.step(step, timer);
          timer.stop();
        }
        const now = core().memoryStats(backend.device).current;
        const allocated = MEMORY_CATEGORIES.reduce((sum, k) => sum + now[k] - before[k], 0);
        const out = { loss: s.loss()!, grad: s.featureGrad.read(), weights: s.weights.read(), momentum: s.momentum.read(), allocated };
        s.dispose();
        return out;
      };
      const a = run(cpu);
      const b = run(gpu);
      record(`example ${c.name}, 3 steps: loss`, [b.loss], [a.loss], 1e-4);
      record(`example ${c.name}, 3 steps: feature gradient`, b.grad, a.grad, 2e-3);
      record(`example ${c.name}, 3 steps: centres`, b.weights, a.weights, 1e-5);
      record(`example ${c.name}, 3 steps: momentum`, b.momentum, a.momentum, 2e-3);
      const model = totalBytes(modelMemory(config, 0));
      recordOk(`example ${c.name}: CUDA allocations = memory model`, a.allocated === model && b.allocated === model, `cpu ${a.allocated} B, cuda ${b.allocated} B (outside cuBLAS's workspace, taken before), model ${model} B`);
    }
  }
}

/** Compares what an update changed (after - before) on the device and on the CPU. */
function recordChange(name: string, before: ArrayLike<number>, device: ArrayLike<number>, host: ArrayLike<number>, tolerance: number): void {
  const delta = (after: ArrayLike<number>) => Float64Array.from(after as ArrayLike<number>, (x, i) => x - before[i]);
  record(`${name} (change)`, delta(device), delta(host), tolerance);
}

function recordOk(name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, maxRelError: ok ? 0 : 1, tolerance: 0, note: detail });
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
}

/** The first GEMM creates cuBLAS's handle, and its workspace must appear under 'workspace'. */
function workspaceCheck(gpu: Backend): void {
  const native = core();
  const before = native.memoryStats('cuda').current.workspace;
  const a = allocate(gpu, 'features', 'fp32', 8, 8);
  const c = allocate(gpu, 'features', 'fp32', 8, 8);
  native.fillRandom(a, 1, 0, 0, 'uniform', -1, 1);
  native.gemm(a, false, a, true, c, 1, 0);
  native.synchronize('cuda');
  const added = native.memoryStats('cuda').current.workspace - before;
  const expected = native.cublasWorkspaceBytes ?? 0;
  a.free();
  c.free();
  recordOk('cuBLAS workspace in the tagged accounting', expected > 0 && added === expected, `${added} bytes added under 'workspace' by the first GEMM (expected ${expected})`);
}

/**
 * logits = X W^T with 1024 x 3,625,000 outputs (29M@8 model parallel: past 2^31 elements, so
 * the 64-bit cuBLAS API), checked at both corners against the CPU on copies of those rows.
 */
function largeGemmCheck(cpu: Backend, gpu: Backend): void {
  const native = core();
  const B = 1024;
  // On the simulated device: bf16, 16 columns and 2.1M centres, still past 2^31 outputs.
  const C = SIMULATED ? 2_100_000 : 3_625_000;
  const D = SIMULATED ? 16 : 512;
  const dtype: DType = SIMULATED ? 'bf16' : 'fp32';
  const K = 64; // corner columns checked
  const x = allocate(gpu, 'features', dtype, B, D);
  const w = allocate(gpu, 'centres', dtype, C, D);
  const logits = allocate(gpu, 'logits', dtype, B, C);
  try {
    native.fillRandom(x, 21, 0, 0, 'uniform', -1, 1);
    native.fillRandom(w, 22, 0, 0, 'uniform', -1, 1);
    native.gemm(x, false, w, true, logits, 1, 0);
    native.synchronize('cuda');
    for (const [name, row, first] of [['far corner', B - 1, C - K], ['near corner', 0, 0]] as const) {
      const title = `${dtype} gemm ${B} x ${C} (${(B * C / 2 ** 31).toFixed(2)} x 2^31 outputs), ${name}`;
      const got = Array.from(readFloats(logits.view(row, 1))).slice(first, first + K);
      if (dtype === 'fp32') {
        const xr = allocate(cpu, 'features', 'fp32', 1, D);
        const wr = allocate(cpu, 'centres', 'fp32', K, D);
        const ref = allocate(cpu, 'logits', 'fp32', 1, K);
        native.copyTensor(x.view(row, 1), xr);
        native.copyTensor(w.view(first, K), wr);
        native.gemm(xr, false, wr, true, ref, 1, 0);
        record(title, got, ref.read(), 1e-5);
        for (const t of [xr, wr, ref]) t.free();
      } else {
        // float64 dot products of the bf16 operands, rounded to bf16 once as the output is.
        const xs = readFloats(x.view(row, 1));
        const ws = readFloats(w.view(first, K));
        const ref = Array.from({ length: K }, (_, j) => {
          let sum = 0;
          for (let d = 0; d < D; d++) sum += xs[d] * ws[j * D + d];
          return sum;
        });
        record(title, got, ref, 1e-2);
      }
    }
    largeGemmBackwardChecks(cpu, x, w, logits, K);
  } finally {
    for (const t of [x, w, logits]) t.free();
  }
}

/** A device tensor's rows as an fp32 CPU tensor (bf16 widened exactly). */
function toCpuFp32(cpu: Backend, t: NativeTensor): NativeTensor {
  const out = allocate(cpu, 'workspace', 'fp32', t.rows, t.cols);
  out.write(Float32Array.from(readFloats(t)));
  return out;
}

/**
 * The backward GEMMs of the same step past 2^31 elements (the 64-bit API with a huge operand):
 * dX = G W (B x D over C) and dW = G^T X (C x D over B), with G the logits standing in for their
 * gradient; dX's far row and dW's far rows against the CPU on fp32 copies of the very operands.
 */
function largeGemmBackwardChecks(cpu: Backend, x: NativeTensor, w: NativeTensor, g: NativeTensor, K: number): void {
  const native = core();
  const B = g.rows, C = g.cols, D = x.cols;
  const dx = allocate(x.device === 'cuda' ? selectBackend(GPU_BACKEND).backend : cpu, 'features', 'fp32', B, D);
  const dw = allocate(selectBackend(GPU_BACKEND).backend, 'weightGrad', 'fp32', C, D);
  try {
    native.gemm(g, false, w, false, dx, 1, 0);
    native.gemm(g, true, x, false, dw, 1, 0);
    native.synchronize('cuda');
    // dX's last row over all C centres.
    const gRow = toCpuFp32(cpu, g.view(B - 1, 1));
    const wAll = toCpuFp32(cpu, w);
    const refRow = allocate(cpu, 'workspace', 'fp32', 1, D);
    native.gemm(gRow, false, wAll, false, refRow, 1, 0);
    record(`${g.dtype} gemm dX = G W over ${C} centres (G past 2^31 elements), last row`, readFloats(dx.view(B - 1, 1)), refRow.read(), 1e-4);
    for (const t of [gRow, wAll, refRow]) t.free();
    // dW's last K rows: G's last K columns, read row by row.
    const gCols = allocate(cpu, 'workspace', 'fp32', K, B);
    const cols = new Float32Array(K * B);
    for (let i = 0; i < B; i++) {
      const raw = g.view(i, 1).read().subarray(C - K);
      const tail = g.dtype === 'bf16' ? bf16ToFloat(raw as Uint16Array) : (raw as Float32Array);
      for (let j = 0; j < K; j++) cols[j * B + i] = tail[j];
    }
    gCols.write(cols);
    const xAll = toCpuFp32(cpu, x);
    const refW = allocate(cpu, 'workspace', 'fp32', K, D);
    native.gemm(gCols, false, xAll, false, refW, 1, 0);
    record(`${g.dtype} gemm dW = G^T X (G past 2^31 elements), last ${K} rows`, readFloats(dw.view(C - K, K)), refW.read(), 1e-4);
    for (const t of [gCols, xAll, refW]) t.free();
  } finally {
    dx.free();
    dw.free();
  }
}

/** A one-rank NCCL communicator made through the binding (no MPI): every collective once. */
function ncclCheck(gpu: Backend): void {
  const native = core();
  const comm = native.ncclInit!(0, 1, native.ncclNewUniqueId!());
  try {
    const a = allocate(gpu, 'communication', 'fp32', 37, 5);
    const b = allocate(gpu, 'communication', 'fp32', 37, 5);
    native.fillRandom(a, 31, 0, 0, 'normal', 0, 1);
    const want = Array.from(a.read() as Float32Array);
    native.ncclAllReduce!(comm, a, 'sum');
    native.ncclAllGather!(comm, a, b);
    native.ncclReduceScatter!(comm, b, a);
    native.ncclBroadcast!(comm, a, 0);
    native.synchronize('cuda');
    const same = (t: NativeTensor) => String(Array.from(t.read() as Float32Array)) === String(want);
    recordOk('NCCL one-rank communicator (all-reduce, all-gather, reduce-scatter, broadcast)', same(a) && same(b), `NCCL ${native.ncclVersion!()}, results ${same(a) && same(b) ? 'equal' : 'differ from'} the input`);
    a.free();
    b.free();
  } finally {
    native.ncclDestroy!(comm);
  }
}

/** Runs one section; a throw is recorded as its failure and the next section still runs. */
function section(name: string, body: () => void): void {
  try {
    body();
  } catch (error) {
    recordOk(name, false, `threw: ${(error as Error).message}`);
  }
}

/** The fused step's softmax passes over column tiles (the in-kernel merge at B = 4096, the chunk
 * merge at B = 67), CUDA against CPU (sgdIdleRows is in the SGD section). */
function fusedOpChecks(cpu: Backend, gpu: Backend): void {
  const native = core();
  const A = 1031;
  const margin = MARGINS.arcface;
  for (const B of [67, 4096]) {
    for (const tile of [1, 100, 640]) {
      if (B === 4096 && tile === 1) continue; // 1031 launches per pass: covered at B = 67
      const [labels, labelsG] = pair(cpu, gpu, 'int32', B, 1, (t) => native.fillLabels(t, 3, 4, 0, A));
      const sc = rowStats(cpu, B);
      const sg = rowStats(gpu, B);
      const tiles: { c: NativeTensor; g: NativeTensor; first: number; cols: number }[] = [];
      for (let first = 0; first < A; first += tile) {
        const cols = Math.min(tile, A - first);
        const ld = alignedColumns(cols);
        const [c, g] = pair(cpu, gpu, 'fp32', B, ld, (t) => native.fillRandom(t, 17, first, 0, 'uniform', -1.05, 1.05));
        const columns = { offset: first, active: A };
        native.marginSoftmaxStats({ logits: c, cols, labels, margin, targetCos: sc.targetCos, localMax: sc.localMax, rowMax: sc.rowMax, rowSum: sc.rowSum, targetLogit: sc.targetLogit, columns });
        native.marginSoftmaxStats({ logits: g, cols, labels: labelsG, margin, targetCos: sg.targetCos, localMax: sg.localMax, rowMax: sg.rowMax, rowSum: sg.rowSum, targetLogit: sg.targetLogit, columns });
        tiles.push({ c, g, first, cols });
      }
      const name = `fused softmax B ${B}, tiles of ${tile}`;
      record(`${name}: rowMax`, sg.rowMax.read(), sc.rowMax.read(), 1e-6);
      record(`${name}: rowSum`, sg.rowSum.read(), sc.rowSum.read(), 1e-5);
      record(`${name}: targetCos`, sg.targetCos.read(), sc.targetCos.read(), 1e-6);
      record(`${name}: targetLogit`, sg.targetLogit.read(), sc.targetLogit.read(), 1e-6);
      let worst = 0;
      for (const t of tiles) {
        const columns = { offset: t.first, active: A };
        native.marginSoftmaxGrad({ logits: t.c, cols: t.cols, labels, margin, rowMax: sc.rowMax, rowSum: sc.rowSum, targetCos: sc.targetCos, gradScale: 1 / B, columns });
        native.marginSoftmaxGrad({ logits: t.g, cols: t.cols, labels: labelsG, margin, rowMax: sg.rowMax, rowSum: sg.rowSum, targetCos: sg.targetCos, gradScale: 1 / B, columns });
        worst = Math.max(worst, relError(t.g.read(), t.c.read()));
      }
      checks.push({ name: `${name}: gradient (padding 0)`, ok: worst <= 1e-4, maxRelError: worst, tolerance: 1e-4 });
      process.stdout.write(`${worst <= 1e-4 ? 'ok  ' : 'FAIL'} ${name}: gradient max error ${worst.toExponential(2)} (tolerance 1e-4)\n`);
      for (const t of [labels, labelsG, ...Object.values(sc), ...Object.values(sg), ...tiles.flatMap((x) => [x.c, x.g])]) t.free();
    }
  }
}

/** The logit-free step (--logits fused) equals the materialized one on CUDA (fp32 and bf16 storage) and
 * the CPU's fused step; tiles that do not divide the active count. */
function fusedStrategyChecks(cpu: Backend, gpu: Backend): void {
  // Every registered strategy that declares the fused logits, under each update it declares.
  const cases = strategyDescriptors()
    .filter((d) => d.logits.includes('fused'))
    .flatMap((d) => d.updates.map((update) => ({ strategy: d.name, sampleRate: d.samples ? 0.1 : 1, update, tile: d.samples ? 300 : 1000 })));
  for (const c of cases) {
    for (const dtype of ['fp32', 'bf16'] as const) {
      const base = { strategy: c.strategy, sampleRate: c.sampleRate, update: c.update, classes: 20011, ranks: 1, batch: 96, dim: 129, margin: MARGINS.cosface, sgd: { ...DEFAULT_SGD, lr: 1e-3 }, seed: 5, dtype };
      const run = (backend: Backend, fused: boolean) => {
        const config = validateFcConfig({ ...base, ...(fused ? { logits: 'fused' as const, tile: c.tile } : {}) });
        const s = createStrategy({ backend, comm: singleCommunicator(), config, source: new SyntheticBatch(config.seed, config.classes) });
        const timer = backend.createTimer();
        for (let step = 0; step < 3; step++) {
          s.step(step, timer);
          timer.stop();
        }
        const out = { loss: s.loss()!, grad: s.featureGrad.read(), weights: s.weights.read(), momentum: s.momentum.read() };
        s.dispose();
        return out;
      };
      const name = `${methodLabel(c, true)} ${dtype}, fused (tile ${c.tile}) vs materialized on CUDA, 3 steps`;
      const fusedG = run(gpu, true);
      const materializedG = run(gpu, false);
      // bf16: the same rounding points in both, summed in another order; where a value lands on
      // the other side of a rounding boundary it moves by one bf16 step (2^-7) and that carries
      // through 3 steps: on the CPU alone, model parallel tile 1000 fused vs materialized leaves
      // 1.7e-4 of the centres' scale (above the 1e-4 this check had), hence 1e-3 for the centres.
      const loose = dtype === 'bf16' ? 10 : 1;
      const centresTol = dtype === 'bf16' ? 1e-3 : 1e-5;
      record(`${name}: loss`, [fusedG.loss], [materializedG.loss], 1e-4 * loose);
      record(`${name}: feature gradient`, fusedG.grad, materializedG.grad, 2e-3 * loose);
      // bf16: a logit the fourth GEMM recomputes (another summation order) may round to the other
      // bf16 neighbour, moving a row's gradient by one bf16 step (1.7e-4 of scale on the simulated
      // device and on the CPU, where 1e-4 had been set before anything ran).
      record(`${name}: centres`, fusedG.weights, materializedG.weights, centresTol);
      record(`${name}: momentum`, fusedG.momentum, materializedG.momentum, 2e-3 * loose);
      // The CPU's twin of the same run, fp32 and bf16 (the same rounding points on both
      // backends), with the same bounds.
      const fusedC = run(cpu, true);
      const cpuName = `${methodLabel(c, true)} ${dtype}, fused CUDA vs fused CPU, 3 steps`;
      record(`${cpuName}: loss`, [fusedG.loss], [fusedC.loss], 1e-4 * loose);
      record(`${cpuName}: feature gradient`, fusedG.grad, fusedC.grad, 2e-3 * loose);
      record(`${cpuName}: centres`, fusedG.weights, fusedC.weights, centresTol);
      record(`${cpuName}: momentum`, fusedG.momentum, fusedC.momentum, 2e-3 * loose);
    }
  }
}

const SECTIONS: Record<string, (cpu: Backend, gpu: Backend) => void> = {
  // First in its process: gpu.context() asks cuBLAS its version, which creates the handle and its
  // workspace, after which the first GEMM would add nothing to measure.
  'cuBLAS workspace': (_cpu, gpu) => workspaceCheck(gpu),
  'ops fp32': (cpu, gpu) => opChecks(cpu, gpu, 'fp32'),
  'ops bf16': (cpu, gpu) => opChecks(cpu, gpu, 'bf16'),
  'blind shapes': (cpu, gpu) => blindShapeChecks(cpu, gpu),
  'ops bf16 GPU vs CPU': (cpu, gpu) => bf16TwinChecks(cpu, gpu),
  normalizeRows: (cpu, gpu) => normalizeChecks(cpu, gpu),
  SGD: (cpu, gpu) => sgdChecks(cpu, gpu),
  strategies: (cpu, gpu) => strategyChecks(cpu, gpu),
  'strategy examples': (cpu, gpu) => exampleChecks(cpu, gpu),
  'lazy-dense': (cpu, gpu) => lazyDenseChecks(cpu, gpu),
  'fused ops': (cpu, gpu) => fusedOpChecks(cpu, gpu),
  'fused strategies': (cpu, gpu) => fusedStrategyChecks(cpu, gpu),
  '64-bit GEMM': (cpu, gpu) => largeGemmCheck(cpu, gpu),
  NCCL: (_cpu, gpu) => ncclCheck(gpu),
};
// The simulated device runs the same kernels some 100x slower than a GPU.
const SECTION_TIMEOUT_S = SIMULATED ? 900 : 150;

/** A section's process: runs it, writes its checks (a throw is one failed check). */
function sectionMain(name: string, checksFile: string): number {
  const body = SECTIONS[name];
  if (!body) throw new Error(`gpu-check: no section '${name}' (sections: ${Object.keys(SECTIONS).join(', ')})`);
  const gpu = selectBackend(GPU_BACKEND).backend; // first: cuda-sim switches the core
  const cpu = selectBackend('cpu').backend;
  section(name, () => body(cpu, gpu));
  writeFileSync(checksFile, JSON.stringify(checks));
  return 0;
}

/** Every section, or those PFC_GPU_CHECK_SECTIONS names (comma-separated; the mutation test's subsets). */
function chosenSections(): string[] {
  const wanted = process.env.PFC_GPU_CHECK_SECTIONS;
  if (!wanted) return Object.keys(SECTIONS);
  const names = wanted.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !(n in SECTIONS));
  if (unknown.length) throw new Error(`PFC_GPU_CHECK_SECTIONS: no section ${unknown.join(', ')} (sections: ${Object.keys(SECTIONS).join(', ')})`);
  return names;
}

function main(): number {
  if (process.argv[2] === '--section') return sectionMain(process.argv[3], process.argv[4]);
  const out = process.argv[2] ?? 'gpu-check.json';
  const probe = core().cudaProbe();
  if (!probe.usable) {
    process.stdout.write(`gpu-check: no CUDA device (${probe.reason}); nothing to check.\n`);
    writeFileSync(out, JSON.stringify({ outcome: 'no-device', cudaDevice: false, reason: probe.reason }, null, 1));
    return 0;
  }
  process.stdout.write(`gpu-check on ${probe.name}${SIMULATED ? ' (simulated: the kernels on the host CPU; nothing here ran on a GPU)' : ''}: each section in its own process (at most ${SECTION_TIMEOUT_S} s each)\n`);
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'pfc-gpu-check-'));
  let all: Check[];
  try {
    all = runSections(chosenSections(), dir, (name, file) => {
      const r = spawnSync(process.execPath, [self, '--section', name, file], { stdio: ['ignore', 'inherit', 'inherit'], timeout: SECTION_TIMEOUT_S * 1000, killSignal: 'SIGKILL' });
      return { status: r.status, signal: r.signal, timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' };
    }, SECTION_TIMEOUT_S);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const context = selectBackend(GPU_BACKEND).backend.context();
  process.stdout.write(`gpu-check context: ${JSON.stringify(context)}\n`);
  const failed = all.filter((c) => !c.ok);
  writeFileSync(out, JSON.stringify({ outcome: 'ran', cudaDevice: !SIMULATED, simulated: SIMULATED, passed: all.length - failed.length, failed: failed.length, context, checks: all }, null, 1));
  process.stdout.write(`${all.length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length ? 1 : 0;
}

await loadStrategyModulesFromEnv();
process.exitCode = main();
