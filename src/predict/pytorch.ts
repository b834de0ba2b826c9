/**
 * An implementation profile of arcface_torch's PartialFC_V2 (PyTorch), so that a user sees beside
 * ours what their PyTorch training would use and take. What its code holds and does, per rank:
 *   - the shard's centres W (C_r x D fp32, an nn.Parameter), SGD momentum of the same shape, and
 *     a dense C_r x D gradient (indexing W[index] back-propagates into a full-size zero tensor);
 *   - sampling (rate < 1): torch.rand(C_r), positives set to 2, topk(A), sort, searchsorted; then
 *     the gathered rows W[index] (A x D), their normalized copy and its gradient: three A x D
 *     copies (rate 1: W itself is used, one normalized copy);
 *   - the logits: linear -> clamp -> margin (in place) -> scale -> DistCrossEntropy (in place),
 *     each a B x A fp32 tensor, several alive at once for autograd;
 *   - the update: SGD over every centre (dense), a zero_grad, the dense gradient's zero fill;
 *     torch's foreach SGD with weight decay adds wd x W into a new C_r x D list.
 * Its peak is the larger of two moments: the logits phase (W, momentum, the A x D copies, the
 * live logits buffers) and the update phase (W, momentum, the dense gradient, the decay
 * temporary: about four C_r x D copies), which dominates at rate 0.1 and small batches.
 * The counts of live buffers and of passes are fitted on measured rows
 * (bench/predict/anchors-h200.json, scripts/fit-predict.ts); the fixed parts are not.
 */
import { numSampled, shardOf } from '../strategies/config.js';
import { fittedParameters, gemmMs, passMs, type GemmCurve, type PassModel, type PyTorchParameters } from './kernels.js';
import type { GpuTarget } from './targets.js';

/** The shape of one PartialFC_V2 rank. */
export interface PyTorchShape {
  classes: number;
  ranks: number;
  batch: number;
  dim: number;
  sampleRate: number;
}

export interface PyTorchTerms {
  shard: number;
  active: number;
  /** One fp32 C_r x D copy of the shard's centres. */
  centreBytes: number;
  /** Logits phase, not fitted: W and momentum, the A x D copies, the gathered features. */
  countedBytes: number;
  /** One fp32 B x A logits buffer. */
  logitsBytes: number;
  /** The three GEMMs' time on the target (ms). */
  gemmMs: number;
  /** One read + write pass over the fp32 logits (ms). */
  logitsPassMs: number;
  /** One pass over the shard's fp32 centres (ms). */
  centrePassMs: number;
  /** One pass over C_r 4-byte keys when sampling, 0 at rate 1 (ms). */
  samplingPassMs: number;
}

/**
 * Expected active centres of rank 0: the sampled count, or the positives when more (each of the
 * B labels falls in the shard with probability C_r / C). PartialFC_V2 keeps A = max(positives,
 * floor(rate x C_r)), as ours does.
 */
export function pytorchActive(s: PyTorchShape): { shard: number; active: number } {
  const shard = shardOf(s.classes, s.ranks, 0).size;
  if (s.sampleRate >= 1) return { shard, active: shard };
  const positives = shard * (1 - Math.pow(1 - 1 / s.classes, s.batch));
  return { shard, active: Math.max(numSampled(s.sampleRate, shard), Math.round(positives)) };
}

export function pytorchTerms(s: PyTorchShape, target: GpuTarget, gemm: GemmCurve, pass: PassModel): PyTorchTerms {
  const { shard, active } = pytorchActive(s);
  const f = 4;
  const D = s.dim;
  const B = s.batch;
  const sampled = s.sampleRate < 1;
  const copies = sampled ? 3 : 1;
  const centreBytes = shard * D * f;
  const countedBytes = 2 * centreBytes + copies * active * D * f + 4 * B * D * f + 2 * B * 8;
  const logitsBytes = B * active * f;
  const unit = (bytes: number) => passMs({ ...pass, fixedMs: 0 }, target, bytes) + pass.fixedMs;
  return {
    shard,
    active,
    centreBytes,
    countedBytes,
    logitsBytes,
    gemmMs: gemmMs(gemm, target, 'fp32', 3 * 2 * B * active * D, active),
    logitsPassMs: unit(2 * logitsBytes),
    centrePassMs: unit(shard * D * f),
    samplingPassMs: sampled ? unit(shard * 4) : 0,
  };
}

export interface PyTorchPrediction {
  shard: number;
  active: number;
  peakBytes: number;
  /** The FC step alone, no communication (ms). */
  stepMs: number;
}

export function predictPyTorch(
  s: PyTorchShape,
  target: GpuTarget,
  params: PyTorchParameters = fittedParameters().pytorch,
  gemm: GemmCurve = fittedParameters().gemm,
  pass: PassModel = fittedParameters().pass,
): PyTorchPrediction {
  const t = pytorchTerms(s, target, gemm, pass);
  return {
    shard: t.shard,
    active: t.active,
    peakBytes: pytorchPeakBytes(t, params),
    stepMs: t.gemmMs + params.logitsPasses * t.logitsPassMs + params.centrePasses * t.centrePassMs + params.samplingPasses * t.samplingPassMs + params.fixedMs,
  };
}

/** The larger of the logits phase and the update phase, plus the fixed bytes. */
export function pytorchPeakBytes(t: Pick<PyTorchTerms, 'centreBytes' | 'countedBytes' | 'logitsBytes'>, p: Pick<PyTorchParameters, 'logitsBuffers' | 'updateBuffers' | 'fixedBytes'>): number {
  return p.fixedBytes + Math.max(p.updateBuffers * t.centreBytes, t.countedBytes + p.logitsBuffers * t.logitsBytes);
}
