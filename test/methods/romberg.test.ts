/**
 * The Romberg rule behind steps: 'auto' against closed forms: its points
 * nest (each level adds the midpoints, none twice), Simpson's row is exact on
 * cubics, and the diagonal converges on e^a and cos(3a) with an error estimate
 * that bounds the error of the previous level.
 */
import { RombergTable, rombergPoints, rombergPointCount } from '@onnx-explain/core';

test('levels 0..k together are the 2^k + 1 points i / 2^k, each once', () => {
  for (const k of [0, 1, 2, 5]) {
    const all = Array.from({ length: k + 1 }, (_, l) => rombergPoints(l)).flat();
    expect(all.length).toBe(rombergPointCount(k));
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 2 ** k + 1 }, (_, i) => i / 2 ** k));
  }
  expect(rombergPoints(0)).toEqual([0, 1]);
  expect(rombergPoints(1)).toEqual([0.5]);
  expect(rombergPoints(2)).toEqual([0.25, 0.75]);
  expect(() => rombergPoints(-1)).toThrow(/non-negative integer, got -1/);
  expect(() => rombergPoints(1.5)).toThrow(/got 1.5/);
});

/** Integrand values of [e^a, cos(3a), a^3, 1] summed over one level's points. */
function levelSum(level: number): Float64Array {
  const s = new Float64Array(4);
  for (const a of rombergPoints(level)) {
    s[0] += Math.exp(a);
    s[1] += Math.cos(3 * a);
    s[2] += a ** 3;
    s[3] += 1;
  }
  return s;
}
const exact = [Math.E - 1, Math.sin(3) / 3, 0.25, 1];

test('the trapezoid row, then Simpson exact on a cubic, then the diagonal converging to the closed forms', () => {
  const t = new RombergTable(4);
  expect(() => t.best()).toThrow(/empty/);
  t.addLevel(levelSum(0));
  // T_0 = (f(0) + f(1)) / 2
  expect(Array.from(t.best())).toEqual([(1 + Math.E) / 2, (1 + Math.cos(3)) / 2, 0.5, 1]);
  expect(t.change()).toBeUndefined();
  t.addLevel(levelSum(1));
  // R(1, 1) is Simpson's rule: (f(0) + 4 f(1/2) + f(1)) / 6, exact for a^3
  const simpson = (f: (a: number) => number) => (f(0) + 4 * f(0.5) + f(1)) / 6;
  expect(t.best()[0]).toBeCloseTo(simpson(Math.exp), 14);
  expect(t.best()[2]).toBeCloseTo(0.25, 15);
  expect(t.best()[3]).toBeCloseTo(1, 15);
  let previousError = Array.from(t.best(), (v, i) => Math.abs(v - exact[i]));
  for (let k = 2; k <= 6; k++) {
    t.addLevel(levelSum(k));
    const best = t.best();
    const change = t.change()!;
    for (const i of [0, 1]) {
      const err = Math.abs(best[i] - exact[i]);
      // |R(k,k) - R(k-1,k-1)| is within 10% of the previous level's error, and level k is far better
      expect(Math.abs(Math.abs(change[i]) - previousError[i])).toBeLessThanOrEqual(0.1 * previousError[i] + 1e-15);
      expect(err).toBeLessThan(0.05 * previousError[i] + 1e-15);
      previousError[i] = err;
    }
  }
  expect(t.levels).toBe(7);
  expect(t.best()[0]).toBeCloseTo(exact[0], 14);
  expect(t.best()[1]).toBeCloseTo(exact[1], 13);
  expect(() => t.addLevel(new Float64Array(3))).toThrow(/3 values, the table 4/);
});
