/**
 * A float64 reference of one FC training step over the full (unsharded) softmax, written
 * straight from the step of docs/design.md and independent of the native core. Sizes are small.
 */
export interface RefMargin {
  s: number;
  m1: number;
  m2: number;
  m3: number;
}

export interface RefStepInput {
  /** C x D centres, row-major. */
  weights: Float64Array;
  momentum: Float64Array;
  classes: number;
  dim: number;
  /** B x D global batch. */
  features: Float64Array;
  labels: Int32Array;
  margin: RefMargin;
  lr: number;
  mu: number;
  weightDecay: number;
  dense: boolean;
  /** Active centres (sorted global ids), or null for all. Every label must be in it. */
  active: number[] | null;
  /**
   * Narrow storage (bf16): applied where the step stores its narrow tensors, as the backends
   * do: the normalized features and centres, the cosines (the GEMM's output) and dlogits (the
   * softmax gradient written back into the logits). Absent: nothing is rounded.
   */
  round?: (x: number) => number;
}

export interface RefStepOutput {
  loss: number;
  /** B x D gradient of the loss with respect to the features. */
  featureGrad: Float64Array;
  weights: Float64Array;
  momentum: Float64Array;
}

const EPS = 1e-12;
const SIN_FLOOR = 1e-6;

function targetValue(c: number, m: RefMargin): number {
  return Math.cos(m.m1 * Math.acos(c) + m.m2) - m.m3;
}

function targetGrad(c: number, m: RefMargin): number {
  if (m.m1 === 1 && m.m2 === 0) return 1;
  const theta = Math.acos(c);
  const sinTheta = Math.max(Math.sqrt(Math.max(1 - c * c, 0)), SIN_FLOOR);
  return (m.m1 * Math.sin(m.m1 * theta + m.m2)) / sinTheta;
}

function normalizeRow(v: Float64Array, offset: number, dim: number): { y: Float64Array; norm: number } {
  let ss = 0;
  for (let c = 0; c < dim; c++) ss += v[offset + c] ** 2;
  const norm = Math.max(Math.sqrt(ss), EPS);
  const y = new Float64Array(dim);
  for (let c = 0; c < dim; c++) y[c] = v[offset + c] / norm;
  return { y, norm };
}

/** dv = (dy - y (y . dy)) / norm */
function normalizeBackward(dy: Float64Array, y: Float64Array, norm: number): Float64Array {
  let dot = 0;
  for (let c = 0; c < y.length; c++) dot += y[c] * dy[c];
  return dy.map((g, c) => (g - y[c] * dot) / norm);
}

export function referenceStep(input: RefStepInput): RefStepOutput {
  const { classes: C, dim: D, margin: m } = input;
  const B = input.labels.length;
  const active = input.active ?? Array.from({ length: C }, (_, j) => j);
  const A = active.length;
  const position = new Map(active.map((j, k) => [j, k]));
  const round = input.round ?? ((x: number) => x);
  const stored = ({ y, norm }: { y: Float64Array; norm: number }) => ({ y: y.map(round), norm });
  const xs = Array.from({ length: B }, (_, i) => stored(normalizeRow(input.features, i * D, D)));
  const ws = active.map((j) => stored(normalizeRow(input.weights, j * D, D)));

  let loss = 0;
  const dcos: Float64Array[] = [];
  const targetCos = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    const t = position.get(input.labels[i]);
    if (t === undefined) throw new Error(`label ${input.labels[i]} is not active`);
    const z = new Float64Array(A);
    for (let k = 0; k < A; k++) {
      let dot = 0;
      for (let c = 0; c < D; c++) dot += xs[i].y[c] * ws[k].y[c];
      const cos = Math.min(Math.max(round(dot), -1), 1);
      if (k === t) targetCos[i] = cos;
      z[k] = m.s * (k === t ? targetValue(cos, m) : cos);
    }
    const max = Math.max(...z);
    let sum = 0;
    for (let k = 0; k < A; k++) sum += Math.exp(z[k] - max);
    loss += Math.log(sum) - (z[t] - max);
    const d = new Float64Array(A);
    for (let k = 0; k < A; k++) {
      const p = Math.exp(z[k] - max) / sum;
      const dz = (p - (k === t ? 1 : 0)) / B;
      d[k] = round(m.s * dz * (k === t ? targetGrad(targetCos[i], m) : 1));
    }
    dcos.push(d);
  }

  const featureGrad = new Float64Array(B * D);
  for (let i = 0; i < B; i++) {
    const dxn = new Float64Array(D);
    for (let k = 0; k < A; k++) for (let c = 0; c < D; c++) dxn[c] += dcos[i][k] * ws[k].y[c];
    featureGrad.set(normalizeBackward(dxn, xs[i].y, xs[i].norm), i * D);
  }
  const grad = new Map<number, Float64Array>();
  for (let k = 0; k < A; k++) {
    const dwn = new Float64Array(D);
    for (let i = 0; i < B; i++) for (let c = 0; c < D; c++) dwn[c] += dcos[i][k] * xs[i].y[c];
    grad.set(active[k], normalizeBackward(dwn, ws[k].y, ws[k].norm));
  }

  const weights = Float64Array.from(input.weights);
  const momentum = Float64Array.from(input.momentum);
  for (let j = 0; j < C; j++) {
    const g = grad.get(j);
    if (!g && !input.dense) continue;
    for (let c = 0; c < D; c++) {
      const e = j * D + c;
      momentum[e] = input.mu * momentum[e] + (g ? g[c] : 0) + input.weightDecay * weights[e];
      weights[e] -= input.lr * momentum[e];
    }
  }
  return { loss: loss / B, featureGrad, weights, momentum };
}
