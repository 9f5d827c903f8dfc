/**
 * The seeded noise behind SmoothGrad and GradientSHAP, against an independent
 * reimplementation in BigInt arithmetic of Marsaglia's xorshift32 (shifts 13,
 * 17, 5; "Xorshift RNGs", 2003, whose first output from state 1 is 270369) and
 * the Box-Muller transform (the cosine value first, the sine value next).
 * The method tests feed this stream to their references, so they would not
 * notice a different stream; these would.
 */
import { randomSource } from '@onnx-explain/core';

const M32 = (1n << 32n) - 1n;
/** xorshift32 states after `seed`, n of them, with 32-bit wrap-around made explicit. */
function xorshift32(seed: bigint, n: number): bigint[] {
  let s = seed & M32;
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    s ^= (s << 13n) & M32;
    s ^= s >> 17n;
    s ^= (s << 5n) & M32;
    out.push(s);
  }
  return out;
}
const toUniform = (s: bigint) => (Number(s) + 0.5) / 2 ** 32;

test("xorshift32 from state 1 starts with Marsaglia's 270369 (so the reference itself is right)", () => {
  expect(xorshift32(1n, 1)[0]).toBe(270369n);
});

test.each([1, 7, 12345, 0xffffffff])('uniform() from seed %i is the xorshift32 stream mapped to (0, 1)', (seed) => {
  const r = randomSource(seed);
  const got = Array.from({ length: 200 }, () => r.uniform());
  expect(got).toEqual(xorshift32(BigInt(seed), 200).map(toUniform));
  for (const u of got) expect(u > 0 && u < 1).toBe(true);
});

test('the default seed is 1; seed 0 (a fixed point of xorshift) becomes 0x9e3779b9; seeds are taken mod 2^32', () => {
  const first = (r: { uniform: () => number }) => [r.uniform(), r.uniform(), r.uniform()];
  expect(first(randomSource())).toEqual(xorshift32(1n, 3).map(toUniform));
  expect(first(randomSource(0))).toEqual(xorshift32(0x9e3779b9n, 3).map(toUniform));
  expect(first(randomSource(-1))).toEqual(xorshift32(0xffffffffn, 3).map(toUniform));
  expect(first(randomSource(2 ** 32 + 5))).toEqual(xorshift32(5n, 3).map(toUniform));
});

test('normal() is Box-Muller over consecutive uniforms: the cosine value, then the sine value', () => {
  const r = randomSource(42);
  const u = xorshift32(42n, 6).map(toUniform);
  const want: number[] = [];
  for (let k = 0; k < 6; k += 2) {
    const rad = Math.sqrt(-2 * Math.log(u[k]));
    want.push(rad * Math.cos(2 * Math.PI * u[k + 1]), rad * Math.sin(2 * Math.PI * u[k + 1]));
  }
  const got = Array.from({ length: 6 }, () => r.normal());
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
});

test('uniform and normal draw from one stream', () => {
  const r = randomSource(9);
  const u = xorshift32(9n, 4).map(toUniform);
  expect(r.uniform()).toBe(u[0]);
  const n = r.normal(); // uses u[1], u[2]
  expect(n).toBeCloseTo(Math.sqrt(-2 * Math.log(u[1])) * Math.cos(2 * Math.PI * u[2]), 12);
  r.normal(); // the spare sine value, no draw
  expect(r.uniform()).toBe(u[3]);
});

test('a large sample has mean 0 and variance 1 (within 4 standard errors)', () => {
  const r = randomSource(3);
  const n = 20000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    s += v;
    s2 += v * v;
  }
  expect(Math.abs(s / n)).toBeLessThan(4 / Math.sqrt(n));
  expect(Math.abs(s2 / n - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
});
