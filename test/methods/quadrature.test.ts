/**
 * The quadrature rules against closed forms: Gauss-Legendre nodes and weights
 * for n = 1, 2, 3 (Abramowitz and Stegun 25.4.29), exactness on polynomials
 * of degree 2n - 1, Captum's point sets for the Riemann rules, and the
 * refusals for step counts no rule can take.
 */
import { quadrature, gaussLegendre, INTEGRATION_METHODS } from '@onnx-explain/core';

test('Gauss-Legendre on [-1, 1]: n = 1, 2, 3 in closed form', () => {
  expect(gaussLegendre(1)).toEqual({ nodes: [0], weights: [2] });
  const two = gaussLegendre(2);
  two.nodes.forEach((x, i) => expect(x).toBeCloseTo([-1, 1][i] / Math.sqrt(3), 15));
  two.weights.forEach((w) => expect(w).toBeCloseTo(1, 15));
  const three = gaussLegendre(3);
  expect(three.nodes[1]).toBe(0); // the middle node of an odd rule is exactly 0
  [-Math.sqrt(0.6), 0, Math.sqrt(0.6)].forEach((x, i) => expect(three.nodes[i]).toBeCloseTo(x, 15));
  [5 / 9, 8 / 9, 5 / 9].forEach((w, i) => expect(three.weights[i]).toBeCloseTo(w, 15));
  // Newton alone stops at 1.2e-32 from 13 points on
  for (const n of [7, 13, 51]) expect(gaussLegendre(n).nodes[(n - 1) / 2]).toBe(0);
});

test.each([1, 2, 5, 8, 20, 64])('Gauss-Legendre with %i points on [0, 1]: ascending points, weights sum to 1, exact up to degree 2n - 1 (and not 2n, for a few)', (n) => {
  const { alphas, weights } = quadrature('gausslegendre', n);
  expect(alphas.length).toBe(n);
  for (let i = 1; i < n; i++) expect(alphas[i]).toBeGreaterThan(alphas[i - 1]);
  expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 13);
  const degree = 2 * n - 1;
  // integral of a^k over [0, 1] is 1 / (k + 1)
  for (const k of [0, 1, degree]) expect(alphas.reduce((s, a, i) => s + weights[i] * a ** k, 0)).toBeCloseTo(1 / (k + 1), 12);
  if (n > 1 && n <= 5) expect(Math.abs(alphas.reduce((s, a, i) => s + weights[i] * a ** (2 * n), 0) - 1 / (2 * n + 1))).toBeGreaterThan(1e-14);
});

test('the Riemann rules: Captum\'s points, equal weights; the trapezoid rule with half weights at the ends, summing to 1', () => {
  expect(quadrature('riemann_left', 4)).toEqual({ alphas: [0, 0.25, 0.5, 0.75], weights: [0.25, 0.25, 0.25, 0.25] });
  expect(quadrature('riemann_right', 4).alphas).toEqual([0.25, 0.5, 0.75, 1]);
  expect(quadrature('riemann_middle', 4).alphas).toEqual([0.125, 0.375, 0.625, 0.875]);
  expect(quadrature('riemann_trapezoid', 5)).toEqual({ alphas: [0, 0.25, 0.5, 0.75, 1], weights: [0.125, 0.25, 0.25, 0.25, 0.125] });
  expect(quadrature('riemann_trapezoid', 2)).toEqual({ alphas: [0, 1], weights: [0.5, 0.5] });
  expect(quadrature('riemann_left', 1)).toEqual({ alphas: [0], weights: [1] });
});

test.each([0, -3, 2.5, NaN])('steps = %p is refused', (n) => {
  for (const m of INTEGRATION_METHODS) expect(() => quadrature(m, n)).toThrow(`steps must be a positive integer, got ${n}`);
});

test('the trapezoid rule needs two points; an unknown rule is named with the known ones', () => {
  expect(() => quadrature('riemann_trapezoid', 1)).toThrow('riemann_trapezoid needs at least 2 steps');
  expect(() => quadrature('simpson' as never, 4)).toThrow(
    "unknown integration method 'simpson'; use one of gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid",
  );
});

test('a rule asked for again is the same rule, and changing a returned rule changes no later one', () => {
  const first = quadrature('gausslegendre', 7);
  const want = { alphas: first.alphas.slice(), weights: first.weights.slice() };
  first.alphas[0] = 99;
  first.weights.fill(0);
  expect(quadrature('gausslegendre', 7)).toEqual(want);
  expect(quadrature('riemann_trapezoid', 3)).toEqual({ alphas: [0, 0.5, 1], weights: [0.25, 0.5, 0.25] });
});
