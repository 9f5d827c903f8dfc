/** MatMul (numpy semantics, 1-D and batched), Gemm, Einsum. */
import { registerGradient } from '../registry';
import { attrFloat, attrInt, attrString, nodeLabel } from '../../onnx/attributes';
import { GradientError, type Emitter } from '../emitter';
import { Attr } from '../../onnx/builder';
import type { SymDim } from '../shapes';

/** Swaps the last two axes of a tensor of the given rank. */
function swapLast(e: Emitter, x: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return e.transpose(x, perm);
}

registerGradient('MatMul', (c) => {
  const e = c.e;
  const [a, b] = c.x;
  let dy = c.dY[0]!;
  // 1-D operands act as matrices with a unit dimension that the product dropped
  const aShape: SymDim[] = e.rank(a) === 1 ? [1, ...e.shape(a)] : e.shape(a);
  const bShape: SymDim[] = e.rank(b) === 1 ? [...e.shape(b), 1] : e.shape(b);
  const a2 = e.rank(a) === 1 ? e.unsqueeze(a, [0]) : a;
  const b2 = e.rank(b) === 1 ? e.unsqueeze(b, [1]) : b;
  let yShape: SymDim[] = [...e.shape(c.y[0])];
  if (e.rank(a) === 1) {
    dy = e.unsqueeze(dy, [yShape.length - (e.rank(b) === 1 ? 0 : 1)]);
    yShape.splice(yShape.length - (e.rank(b) === 1 ? 0 : 1), 0, 1);
  }
  if (e.rank(b) === 1) {
    dy = e.unsqueeze(dy, [yShape.length]);
    yShape = [...yShape, 1];
  }
  const batch = yShape.slice(0, -2);
  // sum a gradient of shape batch + [r, s] down to the operand's (broadcast) batch dims
  const sumBack = (g: string, opShape: SymDim[], orig: string) => {
    const lead = batch.length - (opShape.length - 2);
    let r = e.reduceSum(g, [...Array(lead).keys()], false);
    const axes: number[] = [];
    for (let i = 0; i < opShape.length - 2; i++) if (opShape[i] === 1 && batch[i + lead] !== 1) axes.push(i);
    r = e.reduceSum(r, axes, true);
    // nothing summed and no unit axis added: the shape is already the operand's
    if (!lead && !axes.length && e.rank(orig) === opShape.length) return r;
    return e.reshapeLike(r, orig);
  };
  const out: (string | undefined)[] = [undefined, undefined];
  if (c.needs[0]) out[0] = sumBack(e.op('MatMul', [dy, swapLast(e, b2, bShape.length)]), aShape, a);
  if (c.needs[1]) out[1] = sumBack(e.op('MatMul', [swapLast(e, a2, aShape.length), dy]), bShape, b);
  return out;
});

registerGradient('Gemm', (c) => {
  const e = c.e;
  const [a, b, cc] = c.x;
  const dy = c.dY[0]!;
  const alpha = attrFloat(c.node, 'alpha', 1);
  const beta = attrFloat(c.node, 'beta', 1);
  const tA = attrInt(c.node, 'transA', 0);
  const tB = attrInt(c.node, 'transB', 0);
  // C is optional from opset 11; before, give a zero with beta 0
  const noC = c.opset >= 11 ? [] : [e.constF([0], [], a)];
  const gemm = (x: string, y: string, ta: number, tb: number) =>
    e.op('Gemm', [x, y, ...noC], { alpha: Attr.float(alpha), transA: ta, transB: tb, ...(noC.length ? { beta: Attr.float(0) } : {}) });
  const out: (string | undefined)[] = [undefined, undefined, undefined];
  // Y = alpha A' B' + beta C, with A' = transA ? A^T : A and B' likewise
  if (c.needs[0]) out[0] = tA ? gemm(b, dy, tB, 1) : gemm(dy, b, 0, tB ? 0 : 1);
  if (c.needs[1]) out[1] = tB ? gemm(dy, a, 1, tA) : gemm(a, dy, tA ? 0 : 1, 0);
  if (cc && c.needs[2]) out[2] = e.sumTo(e.scale(dy, beta), e.shape(c.y[0]), cc);
  return out;
});

/** Einsum: the gradient of an operand is an einsum of dY with the other operands. */
registerGradient('Einsum', (c) => {
  const e = c.e;
  const eq = attrString(c.node, 'equation', '').replace(/\s+/g, '');
  const [lhs, rhsGiven] = eq.split('->');
  let ins = lhs.split(',');
  if (eq.includes('...')) {
    // spell the ellipsis out with letters the equation does not use
    const free = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').filter((ch) => !eq.includes(ch));
    const width = Math.max(...ins.map((s, i) => (s.includes('...') ? e.rank(c.x[i]) - (s.length - 3) : 0)));
    const ell = free.slice(0, width).join('');
    ins = ins.map((s, i) => (s.includes('...') ? s.replace('...', ell.slice(width - (e.rank(c.x[i]) - (s.length - 3)))) : s));
    if (rhsGiven !== undefined) {
      const r = rhsGiven.replace('...', ell);
      return einsumGrads(c, ins, r);
    }
  }
  const rhs =
    rhsGiven ??
    // implicit output: letters that appear once, in alphabetical order
    [...new Set(ins.join(''))].filter((ch) => ins.join('').split(ch).length === 2).sort().join('');
  return einsumGrads(c, ins, rhs);
});

function einsumGrads(c: Parameters<Parameters<typeof registerGradient>[1]>[0], ins: string[], rhs: string): (string | undefined)[] {
  const e = c.e;
  return ins.map((sub, i) => {
    if (!c.needs[i]) return undefined;
    if (new Set(sub).size !== sub.length) {
      throw new GradientError(`${nodeLabel(c.node)}: Einsum with a repeated index in one operand ('${sub}') has no gradient rule`);
    }
    const others = ins.filter((_, j) => j !== i);
    const available = new Set([...rhs, ...others.join('')]);
    const kept = [...sub].filter((ch) => available.has(ch)).join('');
    const eqn = [rhs, ...others].join(',') + '->' + kept;
    let g = e.op('Einsum', [c.dY[0]!, ...c.x.filter((_, j) => j !== i)], { equation: eqn });
    if (kept.length !== sub.length) {
      // letters summed only inside this operand: its gradient is constant along them
      const missing = [...sub].map((ch, k) => (available.has(ch) ? -1 : k)).filter((k) => k >= 0);
      g = e.expandLike(e.unsqueeze(g, missing), c.x[i]);
    }
    return g;
  });
}
