/**
 * Fits the communication model's two numbers per collective to its measured rows:
 *   t = hops(N) alpha + factor(N) bytes / busbw        (model/comm.ts, the ring model)
 * which is linear in (alpha, 1/busbw). Least squares weighted by 1/t^2, i.e. on relative
 * error, so the latency-bound small sizes and the bandwidth-bound large ones both count.
 * Both are kept physical: alpha >= 0, busbw > 0.
 */
import type { CollectiveKind } from '../comm/communicator.js';
import { busFactor, ringHops, type CollectiveFit } from '../model/comm.js';
import type { CalibrationRow } from '../model/profile-file.js';

export interface FittedCollective extends CollectiveFit {
  /** Root mean square of (modeled - measured) / measured over the rows. */
  relativeError: number;
  rows: number;
}

export function fitCollective(kind: CollectiveKind, rows: readonly CalibrationRow[], ranks: number): FittedCollective {
  const points = rows.filter((r) => r.collective === kind && r.timeUs > 0).map((r) => ({ x: busFactor(kind, ranks) * r.bytes, y: r.timeUs / 1e6 }));
  if (!points.length) throw new Error(`no measurements of ${kind} to fit`);
  let S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  for (const { x, y } of points) {
    const w = 1 / (y * y);
    S += w;
    Sx += w * x;
    Sy += w * y;
    Sxx += w * x * x;
    Sxy += w * x * y;
  }
  const det = S * Sxx - Sx * Sx;
  let slope = points.length > 1 && det > 0 ? (S * Sxy - Sx * Sy) / det : NaN;
  let intercept = Number.isFinite(slope) ? (Sy - slope * Sx) / S : NaN;
  if (!(intercept >= 0)) {
    // A negative latency is noise: refit the bandwidth alone through the origin.
    intercept = 0;
    slope = Sxy / Sxx;
  }
  if (!(slope > 0)) {
    // No bandwidth signal (noise larger than the size's effect): the largest size's own rate.
    const largest = points.reduce((a, b) => (b.x > a.x ? b : a));
    slope = Math.max(largest.y - intercept, largest.y * 1e-3) / largest.x;
  }
  const hops = ringHops(kind, ranks);
  const alpha = hops > 0 ? intercept / hops : 0;
  const busBandwidth = 1 / slope;
  const relativeError = Math.sqrt(points.reduce((s, { x, y }) => s + ((intercept + slope * x - y) / y) ** 2, 0) / points.length);
  return { alpha, busBandwidth, relativeError, rows: points.length };
}
