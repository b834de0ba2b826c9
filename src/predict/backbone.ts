/**
 * The backbone of whole-training predictions: arcface_torch's iresnet50 / iresnet100 at 112x112,
 * analytic from its layer shapes (backbones/iresnet.py): parameters, optimizer state, the
 * tensors autograd saves per image, the convolutions' FLOPs and the element-wise passes. Trained
 * in mixed precision (fp16 autocast; parameters, gradients and SGD momentum in fp32).
 *
 * IBasicBlock(inplanes, planes, stride): bn1 -> conv3x3(inplanes, planes) -> bn2 -> prelu ->
 * conv3x3(planes, planes, stride) -> bn3, plus a conv1x1 + bn shortcut when stride != 1 or the
 * width changes. The stem is conv3x3(3, 64) + bn + prelu at 112x112; layers 1-4 (64, 128, 256,
 * 512 wide) each start with a stride-2 block; the head is bn2 -> flatten -> fc(512*7*7, 512) ->
 * BatchNorm1d(512).
 */
import { UsageError, suggest } from '../core/errors.js';
import { fittedParameters, passMs, type BackboneParameters, type PassModel } from './kernels.js';
import { peakFlops, type GpuTarget } from './targets.js';

export const BACKBONES = { r50: [3, 4, 14, 3], r100: [3, 13, 30, 3] } as const;
export type BackboneName = keyof typeof BACKBONES;
export const BACKBONE_CHOICES = ['none', ...Object.keys(BACKBONES)] as const;

export function parseBackbone(value: string, option = '--backbone'): BackboneName | 'none' {
  if (!(BACKBONE_CHOICES as readonly string[]).includes(value)) {
    throw new UsageError(option, `unknown backbone '${value}'; expected one of ${BACKBONE_CHOICES.join(', ')} (arcface_torch's iresnet50 / iresnet100 at 112x112, or none: the FC layer alone)${suggest(value, BACKBONE_CHOICES)}`);
  }
  return value as BackboneName | 'none';
}

/** Per image, from the layer shapes. */
export interface BackboneShape {
  name: BackboneName;
  /** Trainable parameters (conv and fc weights, BN and PReLU weights). */
  parameters: number;
  /** Multiply-adds of one forward pass of one image. */
  forwardMacs: number;
  /** Elements autograd keeps per image for the backward (inputs of conv, BN, PReLU). */
  savedElements: number;
  /** Elements written by the element-wise layers (BN, PReLU, residual add) per image, forward. */
  elementwiseElements: number;
  /** Each convolution and the fc, forward, per image: FLOPs and fp16 bytes (input, output, weights). */
  layers: { flops: number; bytes: number }[];
}

export function backboneShape(name: BackboneName, embedding = 512): BackboneShape {
  let parameters = 0;
  let macs = 0;
  let saved = 0;
  let elementwise = 0;
  let size = 112;
  const layers: BackboneShape['layers'] = [];
  const conv = (cin: number, cout: number, k: number, stride: number) => {
    const out = size / stride;
    parameters += cin * cout * k * k;
    macs += out * out * cin * cout * k * k;
    saved += size * size * cin; // its input
    layers.push({ flops: 2 * out * out * cin * cout * k * k, bytes: 2 * (size * size * cin + out * out * cout + cin * cout * k * k) });
    return out;
  };
  const bn = (c: number, s: number) => {
    parameters += 2 * c;
    saved += s * s * c;
    elementwise += s * s * c;
  };
  const prelu = (c: number, s: number) => {
    parameters += c;
    saved += s * s * c;
    elementwise += s * s * c;
  };
  conv(3, 64, 3, 1);
  bn(64, size);
  prelu(64, size);
  let inplanes = 64;
  BACKBONES[name].forEach((blocks, layer) => {
    const planes = 64 << layer;
    for (let i = 0; i < blocks; i++) {
      const stride = i === 0 ? 2 : 1;
      const input = size;
      bn(inplanes, size);
      conv(inplanes, planes, 3, 1);
      bn(planes, size);
      prelu(planes, size);
      const out = conv(planes, planes, 3, stride);
      size = out;
      bn(planes, size);
      if (stride !== 1 || inplanes !== planes) {
        const keep = size;
        size = input;
        conv(inplanes, planes, 1, stride);
        size = keep;
        bn(planes, size);
      }
      elementwise += size * size * planes; // the residual add
      inplanes = planes;
    }
  });
  bn(512, size);
  const flat = 512 * size * size;
  parameters += flat * embedding + embedding; // fc
  macs += flat * embedding;
  saved += flat;
  layers.push({ flops: 2 * flat * embedding, bytes: 2 * (flat + embedding + flat * embedding) });
  parameters += 2 * embedding; // features (BatchNorm1d)
  saved += embedding;
  return { name, parameters, forwardMacs: macs, savedElements: saved, elementwiseElements: elementwise, layers };
}

export interface BackbonePrediction {
  name: BackboneName;
  localBatch: number;
  parameters: number;
  /** fp32 parameters, gradients and SGD momentum, plus the fp16 weight copies autocast caches. */
  stateBytes: number;
  activationBytes: number;
  totalBytes: number;
  /** Forward + backward (3x forward) FLOPs of the local batch. */
  flops: number;
  ms: number;
}

/**
 * The backbone's memory and step time on `target` at `localBatch` images per GPU, fp16 autocast:
 * saved activations in fp16; each convolution on a roofline (forward and its two backward
 * products: three times the larger of its FLOPs at the fitted fraction of the 16-bit tensor peak
 * and its bytes at the streaming bandwidth), so a layer that is memory-bound on one GPU may be
 * compute-bound on another; element-wise layers as streaming passes (forward: read + write;
 * backward: read two, write one); plus the fitted host-bound fixed time.
 */
export function predictBackbone(
  name: BackboneName,
  target: GpuTarget,
  localBatch: number,
  params: BackboneParameters = fittedParameters().backbone,
  pass: PassModel = fittedParameters().pass,
): BackbonePrediction {
  const shape = backboneShape(name);
  const stateBytes = shape.parameters * (4 + 4 + 4 + 2);
  const activationBytes = shape.savedElements * 2 * localBatch * params.activationFactor;
  const flops = 3 * 2 * shape.forwardMacs * localBatch;
  const ms = params.fixedMs + backboneComputeMs(shape, target, localBatch, params.convEfficiency, pass);
  return { name, localBatch, parameters: shape.parameters, stateBytes, activationBytes, totalBytes: stateBytes + activationBytes + params.fixedBytes, flops, ms };
}

/** The convolutions on their rooflines and the element-wise passes (ms), without the fixed time. */
export function backboneComputeMs(shape: BackboneShape, target: GpuTarget, localBatch: number, convEfficiency: number, pass: PassModel): number {
  const peak = peakFlops(target, 'fp16') * convEfficiency;
  const bandwidth = target.bandwidthBytesPerSecond * pass.efficiency;
  const convSeconds = shape.layers.reduce((sum, l) => sum + 3 * Math.max((l.flops * localBatch) / peak, (l.bytes * localBatch) / bandwidth), 0);
  const elementwiseBytes = shape.elementwiseElements * 2 * localBatch * (2 + 3);
  return convSeconds * 1000 + passMs({ ...pass, fixedMs: 0 }, target, elementwiseBytes);
}
