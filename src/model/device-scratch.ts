/**
 * The CUDA kernels' own device scratch (native cuda_context.cc cudaScratch): one grow-only
 * buffer, accounted under 'workspace', sized to the largest request of the step and rounded up
 * to 2 MiB. Its requests (see the .cu launchers):
 *  - the softmax statistics of a row split across blocks: rows x splits (max, sum) pairs, when
 *    planRows (ops/cuda/cuda_util.cuh), replicated below, splits the row for the device's SMs;
 *  - Partial FC's sampling (ops/cuda/sampling.cu): control words, two histograms, 8 bytes of
 *    prefix counts per row of the shard, and the scan's tile totals per level;
 *  - the loss: one double.
 * This file mirrors those launchers; the memory test checks it against the simulated device
 * byte for byte.
 */

/** What a strategy's step asks of the kernels that take scratch (StrategyDescriptor.kernelShapes). */
export interface KernelShapes {
  /** Rows of the logits the softmax statistics read. */
  softmaxRows: number;
  /** Columns of each statistics pass: [active] materialized, the tile widths when fused. */
  softmaxColumns: number[];
  /** Rows of the shard the step samples from on the device (0: no sampling). */
  sampledShard: number;
}

export const SCRATCH_GRAIN = 2 * 2 ** 20;
const SAMPLE_HIGH_BINS = 4097;
const SAMPLE_LOW_BINS = 4096;
const SCAN_TILE = 256 * 8;

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** planRows' split count for a rows x cols pass of elemBytes-wide elements on smCount SMs. */
export function rowSplits(rows: number, cols: number, elemBytes: number, smCount: number): number {
  const threads = cols >= 8192 ? 512 : cols >= 2048 ? 256 : cols >= 256 ? 128 : 64;
  const vec = 16 / elemBytes;
  const wantBlocks = smCount * (2048 / threads);
  let splits = 1;
  if (rows < wantBlocks && cols > 0) {
    const minChunk = threads * vec * 4;
    splits = Math.min(ceilDiv(wantBlocks, Math.max(rows, 1)), Math.max(1, Math.floor(cols / minChunk)));
    splits = Math.max(1, Math.min(splits, 1024));
  }
  const chunk = alignUp(ceilDiv(Math.max(cols, 1), splits), 64);
  return ceilDiv(Math.max(cols, 1), chunk);
}

/** Bytes sampleCentres asks of the scratch for a shard of n rows. */
export function samplingScratchBytes(n: number): number {
  const offLow = alignUp(256 + SAMPLE_HIGH_BINS * 4, 256);
  const offPrefix = alignUp(offLow + SAMPLE_LOW_BINS * 4, 256);
  const offTemp = alignUp(offPrefix + n * 8, 256);
  let scan = 0;
  for (let level = n; level > SCAN_TILE; level = ceilDiv(level, SCAN_TILE)) scan += alignUp(ceilDiv(level, SCAN_TILE) * 8, 256);
  return offTemp + Math.max(scan, 1);
}

/**
 * The scratch buffer's bytes after a step of these shapes on a device of smCount SMs, the loss
 * read (withLoss) or not: 0 when no request was made.
 */
export function deviceScratchBytes(shapes: KernelShapes, storageBytes: number, smCount: number, withLoss: boolean): number {
  let need = withLoss ? 8 : 0;
  for (const cols of shapes.softmaxColumns) {
    const splits = rowSplits(shapes.softmaxRows, cols, storageBytes, smCount);
    if (splits > 1 && shapes.softmaxRows > 0) need = Math.max(need, shapes.softmaxRows * splits * 8);
  }
  if (shapes.sampledShard > 0) need = Math.max(need, samplingScratchBytes(shapes.sampledShard));
  return need === 0 ? 0 : alignUp(need, SCRATCH_GRAIN);
}
