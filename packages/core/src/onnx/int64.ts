import Long from 'long';
import type { Int64 } from './types';

/**
 * Reads an int64 field as a JS number. Throws rather than rounding when the
 * value is outside the safe integer range: a silently wrong dimension or axis
 * is worse than a clear error.
 */
export function toNumber(v: Int64 | undefined | null, what = 'int64 value'): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const n = Long.isLong(v) ? v.toNumber() : Number(v);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`${what} ${String(v)} does not fit a JavaScript number exactly`);
  }
  return n;
}

/** Reads an int64 field as a bigint, exactly. */
export function toBigInt(v: Int64 | undefined | null): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(v.toString());
}

export function isInt64(v: unknown): v is Int64 {
  return typeof v === 'number' || Long.isLong(v);
}
