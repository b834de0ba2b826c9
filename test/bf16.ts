/**
 * bf16 in the tests, written from the format's definition and independent of the native core:
 * an fp32 rounded to nearest, ties to even, onto its top 16 bits (NaN to 0x7FFF, as the device's
 * cvt.rn.bf16.f32), and back exactly.
 */

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
