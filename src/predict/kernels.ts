/**
 * The compute model's two unit costs on a target, with the parameters fitted from measured
 * cuBLAS and copy data (bench/predict/fitted.json, written by scripts/fit-predict.ts):
 *   - a GEMM: fixed + flops / (peak(dtype) x efficiency(dtype class, alignment));
 *   - a memory-bound pass: fixed + bytes / (bandwidth x efficiency).
 * Efficiencies are fractions of the target's datasheet peak, so one fit carries to every target.
 * Tensor-core GEMMs whose leading dimension is not a multiple of 16 bytes lose their aligned
 * kernels (PyTorch's logits at 156250 or 15625 columns); ours pad the leading dimension.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/binding.js';
import { peakFlops, type GpuTarget } from './targets.js';

export type GemmDType = 'fp32' | 'tf32' | 'bf16' | 'fp16';
/** fp32 cores, TF32 tensor cores, 16-bit tensor cores. */
export type GemmClass = 'fp32' | 'tf32' | 'half';

export interface GemmCurve {
  /** Fixed cost of one GEMM call (ms): launch, tail, split-K reduction. */
  fixedMs: number;
  /** Fraction of the dtype's peak, per class: aligned and misaligned leading dimension. */
  efficiency: Record<GemmClass, { aligned: number; misaligned: number }>;
}

export interface PassModel {
  fixedMs: number;
  /** Fraction of the datasheet bandwidth a streaming pass reaches. */
  efficiency: number;
}

export function gemmClass(dtype: GemmDType): GemmClass {
  return dtype === 'fp32' ? 'fp32' : dtype === 'tf32' ? 'tf32' : 'half';
}

/** The leading dimension's alignment the class's fast kernels need: 16 bytes. */
export function isAligned(dtype: GemmDType, columns: number): boolean {
  const elements = dtype === 'fp32' ? 1 : dtype === 'tf32' ? 4 : 8;
  return columns % elements === 0;
}

/** Milliseconds of `calls` GEMMs of `flops` in all, on `columns` columns (alignment). */
export function gemmMs(curve: GemmCurve, target: GpuTarget, dtype: GemmDType, flops: number, columns: number, calls = 3): number {
  const e = curve.efficiency[gemmClass(dtype)];
  const efficiency = isAligned(dtype, columns) ? e.aligned : e.misaligned;
  return calls * curve.fixedMs + (flops / (peakFlops(target, dtype) * efficiency)) * 1000;
}

/** Milliseconds of `passes` streaming passes moving `bytes` in all (read + written). */
export function passMs(model: PassModel, target: GpuTarget, bytes: number, passes = 1): number {
  return passes * model.fixedMs + (bytes / (target.bandwidthBytesPerSecond * model.efficiency)) * 1000;
}

/** Every fitted parameter of the prediction (bench/predict/fitted.json). */
export interface FittedParameters {
  source: string;
  gemm: GemmCurve;
  pass: PassModel;
  /** Launch-to-launch cost of back-to-back small kernels (ms): not fitted, see docs/predict.md. */
  kernelLaunchMs: number;
  pytorch: PyTorchParameters;
  backbone: BackboneParameters;
}

export interface PyTorchParameters {
  /** fp32 B x A buffers alive at the logits phase's peak (fitted). */
  logitsBuffers: number;
  /** C_r x D fp32 copies alive at the update phase's peak (fitted). */
  updateBuffers: number;
  /** Allocator and library bytes beside the modeled tensors (fitted). */
  fixedBytes: number;
  /** Streaming passes over the fp32 logits per step (fitted). */
  logitsPasses: number;
  /** Streaming passes over the shard's C_r x D fp32 centres per step (dense update, dense gradient; fitted). */
  centrePasses: number;
  /** Passes over C_r 4-byte keys when sampling (torch.rand, topk, sort; fitted). */
  samplingPasses: number;
  /** Host-bound fixed time per step: launches and synchronisations (fitted). */
  fixedMs: number;
  /** Anchor rows (case and rate) the parameters were fitted on; the others are held out. */
  fittedOn: string[];
}

export interface BackboneParameters {
  /** Fraction of the 16-bit tensor peak the convolutions reach (fitted). */
  convEfficiency: number;
  /** Host-bound fixed time per step (ms; fitted). */
  fixedMs: number;
  /** Measured activation bytes over the analytic count of saved tensors (fitted). */
  activationFactor: number;
  /** Bytes beside parameters, optimizer state and activations (fitted). */
  fixedBytes: number;
  fittedOn: string[];
}

export function fittedParametersPath(): string {
  return join(packageRoot(), 'bench', 'predict', 'fitted.json');
}

let cached: FittedParameters | undefined;

export function fittedParameters(): FittedParameters {
  cached ??= JSON.parse(readFileSync(fittedParametersPath(), 'utf8')) as FittedParameters;
  return cached;
}
