/** Reductions: the gradient is spread back over the reduced axes (and CumSum's, run the other way). */
import { registerGradient, type GradContext } from '../registry';
import { attrInt, attrInts, nodeLabel } from '../../onnx/attributes';
import { GradientError } from '../emitter';

/** The reduced axes, normalised; axes come from the attribute or, in newer opsets, the second input. */
function reducedAxes(c: GradContext): number[] {
  const e = c.e;
  const rank = e.rank(c.x[0]);
  let axes = attrInts(c.node, 'axes');
  if (!axes && c.x[1]) {
    axes = e.constantInts(c.x[1]);
    if (!axes) throw new GradientError(`${nodeLabel(c.node)}: the axes input '${c.x[1]}' is not a constant`);
  }
  if (!axes || axes.length === 0) {
    if (attrInt(c.node, 'noop_with_empty_axes', 0) === 1) return [];
    return [...Array(rank).keys()];
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

/** dY with the reduced axes put back (when keepdims was 0), broadcastable against x. */
function restored(c: GradContext, g: string, axes: number[]): string {
  return attrInt(c.node, 'keepdims', 1) === 1 ? g : c.e.unsqueeze(g, axes);
}

registerGradient('ReduceSum', (c) => {
  const axes = reducedAxes(c);
  return [c.e.expandLike(restored(c, c.dY[0]!, axes), c.x[0])];
});

registerGradient('ReduceMean', (c) => {
  const e = c.e;
  const axes = reducedAxes(c);
  const dims = e.shape(c.x[0]);
  const count = axes.reduce((n, a) => {
    if (typeof dims[a] !== 'number') throw new GradientError(`${nodeLabel(c.node)}: averaging over the batch axis is not supported`);
    return n * (dims[a] as number);
  }, 1);
  return [e.expandLike(restored(c, e.scale(c.dY[0]!, 1 / count), axes), c.x[0])];
});

registerGradient(['ReduceMax', 'ReduceMin'], (c) => {
  // spread evenly over ties, as torch.amax/amin do
  const e = c.e;
  const axes = reducedAxes(c);
  const y = restored(c, c.y[0], axes);
  const hit = e.castLike(e.op('Equal', [c.x[0], y]), c.x[0]);
  const ties = e.reduceSum(hit, axes, true);
  return [e.mul(hit, e.div(restored(c, c.dY[0]!, axes), ties))];
}, { since: 11 });

/**
 * ReduceProd: d prod / d x_i is the product of the others. prod / x_i would
 * divide by zero, so zeros are counted: with none, prod / x_i; with exactly
 * one, the product of the nonzero elements at the zero and 0 elsewhere; with
 * more, 0 everywhere (what autograd's exclusive product gives).
 */
registerGradient('ReduceProd', (c) => {
  const e = c.e;
  const x = c.x[0];
  const axes = reducedAxes(c);
  const zero = e.constF([0], [], x);
  const one = e.constF([1], [], x);
  const isZero = e.op('Equal', [x, zero]);
  const safe = e.op('Where', [isZero, one, x]);
  const nonzeroProduct = e.reduce('ReduceProd', safe, axes, true);
  const zeros = e.reduceSum(e.castLike(isZero, x), axes, true);
  const ifNone = e.mul(e.div(nonzeroProduct, safe), e.castLike(e.op('Equal', [zeros, zero]), x));
  const ifOne = e.mul(nonzeroProduct, e.castLike(e.op('Equal', [zeros, one]), x));
  return [e.mul(e.op('Where', [isZero, ifOne, ifNone]), restored(c, c.dY[0]!, axes))];
}, { since: 11 });

registerGradient('ReduceL2', (c) => {
  const e = c.e;
  const axes = reducedAxes(c);
  // y = sqrt(sum x^2): dy/dx = x / y
  return [e.mul(e.div(restored(c, c.dY[0]!, axes), restored(c, c.y[0], axes)), c.x[0])];
});

registerGradient('ReduceSumSquare', (c) => {
  const e = c.e;
  const axes = reducedAxes(c);
  return [e.mul(e.scale(restored(c, c.dY[0]!, axes), 2), c.x[0])];
});

registerGradient('ReduceLogSumExp', (c) => {
  const e = c.e;
  const axes = reducedAxes(c);
  return [e.mul(restored(c, c.dY[0]!, axes), e.op('Exp', [e.sub(c.x[0], restored(c, c.y[0], axes))]))];
});

registerGradient('ReduceL1', (c) => {
  // y = sum |x|: dy/dx = sign(x) (0 at 0, as torch.norm(p=1)'s subgradient)
  const e = c.e;
  const axes = reducedAxes(c);
  return [e.mul(e.expandLike(restored(c, c.dY[0]!, axes), c.x[0]), e.op('Sign', [c.x[0]]))];
}, { since: 9 });

registerGradient('ReduceLogSum', (c) => {
  // y = log(sum x): dy/dx = 1 / sum x = exp(-y)
  const e = c.e;
  const axes = reducedAxes(c);
  return [e.expandLike(e.mul(restored(c, c.dY[0]!, axes), e.op('Exp', [e.neg(restored(c, c.y[0], axes))])), c.x[0])];
});

registerGradient('CumSum', (c) => {
  // each input element feeds every later (or, reversed, earlier) output: the
  // gradient is the cumulative sum of dY the other way round, with the same exclusivity
  const e = c.e;
  const exclusive = attrInt(c.node, 'exclusive', 0);
  const reverse = attrInt(c.node, 'reverse', 0);
  return [e.op('CumSum', [c.dY[0]!, c.x[1]], { exclusive, reverse: 1 - reverse })];
}, { since: 11 });
