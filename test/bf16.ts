/**
 * bf16 in the tests, written from the format's definition and independent of the native core:
 * an fp32 rounded to nearest, ties to even, onto its top 16 bits (NaN to 0x7FFF, as the device's
 * cvt.rn.bf16.f32), and back exactly.
 */

import assert from 'node:assert/strict';
import { allocate } from '../src/core/backend.js';
import type { NativeTensor } from '../src/core/index.js';
import { lcg, testBackend } from './helpers.js';

/** bf16's unit roundoff: 8 significand bits, so a rounding moves a value by at most 2^-8 of it. */
export const BF16_UNIT_ROUNDOFF = 2 ** -8;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bf16 bits of x rounded first to fp32 (as the native side holds it), then to bf16. */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fff;
  return Math.floor((u + 0x7fff + ((u >>> 16) & 1)) / 65536);
}

export function bf16Value(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** x as bf16 storage keeps it. */
export function roundBf16(x: number): number {
  return bf16Value(bf16Bits(x));
}

export function toBf16Bits(values: ArrayLike<number>): Uint16Array {
  return Uint16Array.from(values as ArrayLike<number>, bf16Bits);
}

export function fromBf16Bits(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, bf16Value);
}

// Tensors for the bf16 op and GEMM tests, on the test backend.

export function tensor(dtype: 'fp32' | 'bf16' | 'int32', rows: number, cols = 1): NativeTensor {
  return allocate(testBackend(), 'workspace', dtype, rows, cols);
}

export function floats(values: ArrayLike<number>, rows: number, cols = 1): NativeTensor {
  const t = tensor('fp32', rows, cols);
  t.write(Float32Array.from(values as ArrayLike<number>));
  return t;
}

/** A bf16 tensor holding `values` rounded, and an fp32 one holding exactly those rounded values. */
export function bf16Pair(values: ArrayLike<number>, rows: number, cols = 1): { b: NativeTensor; f: NativeTensor } {
  const b = tensor('bf16', rows, cols);
  b.write(toBf16Bits(values));
  return { b, f: floats(fromBf16Bits(b.read() as Uint16Array), rows, cols) };
}

/** rows x cols uniform in [-1, 1), row 0 scaled by 1e3 and row 1 by 1e-3. */
export function withOutliers(rows: number, cols: number, seed: number): Float32Array {
  const rand = lcg(seed);
  const v = Float32Array.from({ length: rows * cols }, () => rand() * 2 - 1);
  for (let c = 0; c < cols; c++) {
    v[c] *= 1e3;
    if (rows > 1) v[cols + c] *= 1e-3;
  }
  return v;
}

export function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: element ${i} is 0x${actual[i].toString(16)}, expected 0x${expected[i].toString(16)}`);
  }
}
