/**
 * Trigonometric and hyperbolic functions, and the activations built from
 * them (Mish) or from thresholds (ThresholdedRelu, Shrink). Each derivative
 * reads the input or the output, whichever needs fewer ops.
 */
import { registerGradient, type GradContext } from '../registry';
import { attrFloat } from '../../onnx/attributes';

/** dY * f'(x), with f'(x) built from the context. */
function chain(derivative: (c: GradContext) => string) {
  return (c: GradContext) => [c.e.mul(c.dY[0]!, derivative(c))];
}

/** 1 / sqrt(s), for the inverse functions' derivatives. */
function rsqrt(c: GradContext, s: string): string {
  return c.e.op('Reciprocal', [c.e.op('Sqrt', [s])]);
}

const one = (c: GradContext) => c.e.constF([1], [], c.x[0]);
const square = (c: GradContext, v: string) => c.e.mul(v, v);

registerGradient('Sin', chain((c) => c.e.op('Cos', [c.x[0]])));
registerGradient('Cos', chain((c) => c.e.neg(c.e.op('Sin', [c.x[0]]))));
// d tan x = 1 + tan^2 x, from the output
registerGradient('Tan', chain((c) => c.e.add(one(c), square(c, c.y[0]))));
registerGradient('Asin', chain((c) => rsqrt(c, c.e.sub(one(c), square(c, c.x[0])))));
registerGradient('Acos', chain((c) => c.e.neg(rsqrt(c, c.e.sub(one(c), square(c, c.x[0]))))));
registerGradient('Atan', chain((c) => c.e.op('Reciprocal', [c.e.add(one(c), square(c, c.x[0]))])));
registerGradient('Sinh', chain((c) => c.e.op('Cosh', [c.x[0]])));
registerGradient('Cosh', chain((c) => c.e.op('Sinh', [c.x[0]])));
registerGradient('Asinh', chain((c) => rsqrt(c, c.e.add(square(c, c.x[0]), one(c)))));
registerGradient('Acosh', chain((c) => rsqrt(c, c.e.sub(square(c, c.x[0]), one(c)))));
registerGradient('Atanh', chain((c) => c.e.op('Reciprocal', [c.e.sub(one(c), square(c, c.x[0]))])));

// Mish (opset 18): y = x tanh(softplus(x)); y' = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))
registerGradient(
  'Mish',
  chain((c) => {
    const e = c.e;
    const x = c.x[0];
    const t = e.op('Tanh', [e.op('Softplus', [x])]);
    return e.add(t, e.mul(e.mul(x, e.sub(one(c), square(c, t))), e.op('Sigmoid', [x])));
  }),
  { since: 18 },
);

// ThresholdedRelu: y = x where x > alpha, else 0 (the gradient at x = alpha is 0, as y is)
registerGradient('ThresholdedRelu', (c) => {
  const e = c.e;
  const alpha = attrFloat(c.node, 'alpha', 1);
  return [e.maskWhere(e.op('Greater', [c.x[0], e.constF([alpha], [], c.x[0])]), c.dY[0]!)];
}, { since: 10 });

// Shrink: y = x - bias above lambd, x + bias below -lambd, 0 between: slope 1 outside [-lambd, lambd]
registerGradient('Shrink', (c) => {
  const e = c.e;
  const lambd = attrFloat(c.node, 'lambd', 0.5);
  const x = c.x[0];
  const outside = e.op('Or', [e.op('Greater', [x, e.constF([lambd], [], x)]), e.op('Less', [x, e.constF([-lambd], [], x)])]);
  return [e.maskWhere(outside, c.dY[0]!)];
}, { since: 9 });

// Swish (opset 24): y = x sigmoid(alpha x); y' = s + alpha x s (1 - s), s = sigmoid(alpha x)
registerGradient(
  'Swish',
  chain((c) => {
    const e = c.e;
    const alpha = attrFloat(c.node, 'alpha', 1);
    const ax = e.scale(c.x[0], alpha);
    const s = e.op('Sigmoid', [ax]);
    return e.add(s, e.mul(e.mul(ax, s), e.sub(one(c), s)));
  }),
);
