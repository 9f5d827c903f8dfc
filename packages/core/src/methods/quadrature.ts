/**
 * Quadrature rules for the path integral of Integrated Gradients: points
 * alpha in [0, 1] and weights that sum to 1, with the conventions Captum
 * users know (approximation_methods.py): riemann_left/right/middle take n
 * equal steps; riemann_trapezoid puts n points on [0, 1] with half weights at
 * the ends; gausslegendre maps the n-point Gauss-Legendre rule from [-1, 1].
 *
 * One deliberate difference: Captum 0.8 weights its trapezoid points 1/n
 * (halved at the ends), which sum to (n-1)/n, so its attributions fall 1/n
 * short of F(x) - F(baseline) even for a linear model. Here the trapezoid
 * weights are 1/(n-1) (halved at the ends) and sum to 1: the same points,
 * Captum's attributions times n/(n-1) (test/methods/captum.test.ts).
 */
export type IntegrationMethod = 'gausslegendre' | 'riemann_left' | 'riemann_right' | 'riemann_middle' | 'riemann_trapezoid';

export const INTEGRATION_METHODS: IntegrationMethod[] = ['gausslegendre', 'riemann_left', 'riemann_right', 'riemann_middle', 'riemann_trapezoid'];

export interface Quadrature {
  alphas: number[];
  weights: number[];
}

/** Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1] (Newton's method on P_n). */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    // Tricomi's initial guess for the i-th root, then Newton
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      // p1 = P_n(x), p0 = P_{n-1}(x) (for n = 1: x and 1, and Newton lands on 0 with P_1' = 1)
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  // the middle node of an odd rule is 0 exactly (Newton stops within 1e-16 of it)
  if (n % 2 === 1) nodes[(n - 1) / 2] = 0;
  return { nodes, weights };
}

/**
 * Rules already computed, by method and n: an explanation asks for the same
 * rule every call, and Newton's iterations for 50 nodes were a tenth of a
 * small model's IG call. Callers get copies, so the cache cannot be changed.
 */
const computed = new Map<string, Quadrature>();

/**
 * Most steps a fixed rule takes. Gauss-Legendre nodes cost O(n) each (the
 * Legendre recurrence in every Newton step), O(n^2) for a rule: 10,000 steps
 * take about a second, 100,000 took a minute on the event loop. IG
 * converges long before either (steps: 'auto' finds how many it needs).
 */
export const MAX_STEPS = 10_000;

export function quadrature(method: IntegrationMethod, n: number): Quadrature {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`steps must be a positive integer, got ${n}`);
  if (n > MAX_STEPS) throw new RangeError(`steps ${n} is more than the ${MAX_STEPS.toLocaleString('en-US')} a rule may take; IG converges long before (steps 'auto' finds how many it needs)`);
  const key = `${method}:${n}`;
  let rule = computed.get(key);
  if (!rule) {
    rule = computeQuadrature(method, n);
    if (computed.size >= 64) computed.clear();
    computed.set(key, rule);
  }
  return { alphas: rule.alphas.slice(), weights: rule.weights.slice() };
}

function computeQuadrature(method: IntegrationMethod, n: number): Quadrature {
  switch (method) {
    case 'riemann_left':
      return { alphas: Array.from({ length: n }, (_, i) => i / n), weights: Array(n).fill(1 / n) };
    case 'riemann_right':
      return { alphas: Array.from({ length: n }, (_, i) => (i + 1) / n), weights: Array(n).fill(1 / n) };
    case 'riemann_middle':
      return { alphas: Array.from({ length: n }, (_, i) => (i + 0.5) / n), weights: Array(n).fill(1 / n) };
    case 'riemann_trapezoid': {
      if (n < 2) throw new RangeError('riemann_trapezoid needs at least 2 steps');
      const w = Array.from({ length: n }, (_, i) => (i === 0 || i === n - 1 ? 0.5 : 1) / (n - 1));
      return { alphas: Array.from({ length: n }, (_, i) => i / (n - 1)), weights: w };
    }
    case 'gausslegendre': {
      const { nodes, weights } = gaussLegendre(n);
      return { alphas: nodes.map((x) => 0.5 * (1 + x)), weights: weights.map((w) => 0.5 * w) };
    }
    default:
      throw new RangeError(`unknown integration method '${method as string}'; use one of ${INTEGRATION_METHODS.join(', ')}`);
  }
}
