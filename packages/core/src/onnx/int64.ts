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

/**
 * An int64 as a JavaScript number, with values past +-2^53 held at
 * +-Number.MAX_SAFE_INTEGER. Exporters write INT64_MAX and INT64_MIN as
 * Slice bounds meaning "to the end" (PyTorch's x[:, 1:]); any bound past
 * every real dimension means the same, so saturating keeps the meaning
 * where an exact conversion would refuse the model.
 */
export function toIndexNumber(v: Int64 | bigint | undefined | null): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Long.isLong(v) ? v.toNumber() : Number(v);
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
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
