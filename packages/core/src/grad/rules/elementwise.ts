/**
 * Element-wise arithmetic and activations. Binary ops broadcast
 * (multidirectionally, numpy style), so each operand's gradient is summed
 * back to its own shape with Emitter.sumTo.
 */
import { registerGradient, type GradContext } from '../registry';
import { attrFloat, attrInt, attrString } from '../../onnx/attributes';
import { GradientError, isFloatType } from '../emitter';
import { nodeLabel } from '../../onnx/attributes';

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

/** Sums g (shaped like output 0) back to input i's shape. */
function to(ctx: GradContext, g: string, i: number): string {
  return ctx.e.sumTo(g, ctx.e.shape(ctx.y[0]), ctx.x[i]);
}

registerGradient('Add', (c) => {
  const dy = c.dY[0]!;
  return [c.needs[0] ? to(c, dy, 0) : undefined, c.needs[1] ? to(c, dy, 1) : undefined];
});

registerGradient('Sub', (c) => {
  const dy = c.dY[0]!;
  return [c.needs[0] ? to(c, dy, 0) : undefined, c.needs[1] ? to(c, c.e.neg(dy), 1) : undefined];
});

/**
 * Which input of Mul(x, Sigmoid(x)) (SiLU / Swish as exporters write it) is
 * the sigmoid, when the sigmoid feeds nothing else; undefined otherwise.
 */
function siluSigmoidInput(c: GradContext): number | undefined {
  for (const i of [0, 1]) {
    const s = c.x[i];
    const producer = c.e.index.producers.get(s)?.node;
    if (producer?.opType !== 'Sigmoid' || (producer.domain ?? '') !== '' || producer.input?.[0] !== c.x[1 - i]) continue;
    if ((c.e.index.consumers.get(s) ?? []).length !== 1 || c.e.index.outputs.has(s)) continue;
    return i;
  }
  return undefined;
}

registerGradient('Mul', (c) => {
  const e = c.e;
  const dy = c.dY[0]!;
  const [a, b] = c.x;
  const sig = siluSigmoidInput(c);
  if (sig !== undefined) {
    // d/dx x*s(x) = s + x*s*(1 - s) = s + y*(1 - s): four element-wise ops
    // where the Mul and Sigmoid rules apart take six (measured on
    // EfficientNet-B0, where SiLU backward was a quarter of the run). The
    // sigmoid, whose only consumer this is, then gets no gradient to pass on.
    const s = c.x[sig];
    const y = c.y[0];
    const slope = e.add(s, e.mul(y, e.sub(e.constF([1], [], y), s)));
    const grads: (string | undefined)[] = [undefined, undefined];
    grads[1 - sig] = e.mul(dy, slope);
    return grads;
  }
  return [c.needs[0] ? to(c, e.mul(dy, b), 0) : undefined, c.needs[1] ? to(c, e.mul(dy, a), 1) : undefined];
});

registerGradient('Div', (c) => {
  const dy = c.dY[0]!;
  const [, b] = c.x;
  const y = c.y[0];
  // d(a/b)/db = -a/b^2 = -y/b
  return [
    c.needs[0] ? to(c, c.e.div(dy, b), 0) : undefined,
    c.needs[1] ? to(c, c.e.neg(c.e.div(c.e.mul(dy, y), b)), 1) : undefined,
  ];
});

registerGradient(['Sum', 'Mean'], (c) => {
  const dy = c.dY[0]!;
  const g = c.node.opType === 'Mean' ? c.e.scale(dy, 1 / c.x.length) : dy;
  return c.x.map((_, i) => (c.needs[i] ? to(c, g, i) : undefined));
});

registerGradient('Neg', (c) => [c.e.neg(c.dY[0]!)]);

registerGradient('Identity', (c) => [c.dY[0]!]);

registerGradient('Dropout', (c) => {
  // inference: the identity. In training mode (opset 12's third input) it is random: refuse.
  const training = c.opset >= 12 && c.x[2] ? c.e.constantInts(c.x[2]) : [0];
  if (!training || training[0] !== 0) throw new GradientError(`${nodeLabel(c.node)}: Dropout in training mode has no gradient rule`);
  return [c.dY[0]!, undefined, undefined];
}, { nonDifferentiableOutputs: [1] });

registerGradient('Cast', (c) => {
  const to = attrInt(c.node, 'to')!;
  if (!isFloatType(to) || !isFloatType(c.e.elemType(c.x[0]))) return [undefined];
  return [c.e.op('Cast', [c.dY[0]!], { to: c.e.elemType(c.x[0]) })];
});

registerGradient('Abs', (c) => [c.e.mul(c.dY[0]!, c.e.op('Sign', [c.x[0]]))], { since: 9 });

registerGradient('Pow', (c) => {
  const dy = c.dY[0]!;
  const [x, p] = c.x;
  const e = c.e;
  const pf = isFloatType(e.elemType(p)) && e.elemType(p) === e.elemType(x) ? p : e.castLike(p, x);
  const out: (string | undefined)[] = [undefined, undefined];
  if (c.needs[0]) {
    // p * x^(p-1)
    const pm1 = e.sub(pf, e.constF([1], [], x));
    out[0] = to(c, e.mul(dy, e.mul(pf, e.op('Pow', [x, pm1]))), 0);
  }
  if (c.needs[1]) {
    if (!isFloatType(e.elemType(p))) return out;
    // y log x is 0 * -inf = NaN at x = 0; PyTorch's rule (pow_backward_exponent) gives 0 there when p >= 0
    const zero = e.constF([0], [], x);
    const atZero = e.op('And', [e.op('Not', [e.op('Less', [x, zero])]), e.op('Not', [e.op('Greater', [x, zero])])]);
    const held = e.op('And', [atZero, e.op('Not', [e.op('Less', [pf, zero])])]);
    out[1] = to(c, e.select(held, zero, e.mul(dy, e.mul(c.y[0], e.op('Log', [x])))), 1);
  }
  return out;
});

registerGradient('Sqrt', (c) => [c.e.div(c.e.scale(c.dY[0]!, 0.5), c.y[0])]);
registerGradient('Exp', (c) => [c.e.mul(c.dY[0]!, c.y[0])]);
registerGradient('Log', (c) => [c.e.div(c.dY[0]!, c.x[0])]);
registerGradient('Reciprocal', (c) => [c.e.neg(c.e.mul(c.dY[0]!, c.e.mul(c.y[0], c.y[0])))]);

registerGradient('Erf', (c) => {
  const e = c.e;
  const x = c.x[0];
  // 2/sqrt(pi) * exp(-x^2)
  const g = e.op('Exp', [e.neg(e.mul(x, x))]);
  return [e.mul(c.dY[0]!, e.scale(g, 2 / Math.sqrt(Math.PI)))];
});

registerGradient('Tanh', (c) => {
  const e = c.e;
  const y = c.y[0];
  return [e.mul(c.dY[0]!, e.sub(e.constF([1], [], y), e.mul(y, y)))];
});

registerGradient('Sigmoid', (c) => {
  const e = c.e;
  const y = c.y[0];
  return [e.mul(c.dY[0]!, e.mul(y, e.sub(e.constF([1], [], y), y)))];
});

registerGradient('Softplus', (c) => [c.e.mul(c.dY[0]!, c.e.op('Sigmoid', [c.x[0]]))]);

registerGradient('Softsign', (c) => {
  // d/dx x/(1+|x|) = 1/(1+|x|)^2
  const e = c.e;
  const d = e.add(e.constF([1], [], c.x[0]), e.op('Abs', [c.x[0]]));
  return [e.div(c.dY[0]!, e.mul(d, d))];
});

registerGradient('Relu', (c) => {
  const e = c.e;
  // y > 0 exactly where x > 0; reading the output, not the input, leaves the
  // producer of x with one consumer, so onnxruntime can still fuse Conv + Relu
  return [e.maskWhere(e.op('Greater', [c.y[0], e.constF([0], [], c.y[0])]), c.dY[0]!)];
});

registerGradient('LeakyRelu', (c) => {
  const e = c.e;
  const alpha = attrFloat(c.node, 'alpha', 0.01);
  const dy = c.dY[0]!;
  return [e.select(e.op('Greater', [c.x[0], e.constF([0], [], c.x[0])]), dy, e.scale(dy, alpha))];
});

registerGradient('PRelu', (c) => {
  const e = c.e;
  const [x, slope] = c.x;
  const dy = c.dY[0]!;
  const pos = e.op('Greater', [x, e.constF([0], [], x)]);
  const out: (string | undefined)[] = [undefined, undefined];
  if (c.needs[0]) out[0] = e.select(pos, dy, e.mul(dy, slope));
  if (c.needs[1]) out[1] = to(c, e.select(pos, e.constF([0], [], x), e.mul(dy, x)), 1);
  return out;
});

registerGradient('Elu', (c) => {
  const e = c.e;
  const alpha = attrFloat(c.node, 'alpha', 1);
  const dy = c.dY[0]!;
  const pos = e.op('Greater', [c.x[0], e.constF([0], [], c.x[0])]);
  // for x <= 0: y = alpha (e^x - 1), dy/dx = y + alpha
  return [e.select(pos, dy, e.mul(dy, e.add(c.y[0], e.constF([alpha], [], c.y[0]))))];
});

registerGradient('Selu', (c) => {
  const e = c.e;
  const alpha = attrFloat(c.node, 'alpha', SELU_ALPHA);
  const gamma = attrFloat(c.node, 'gamma', SELU_GAMMA);
  const dy = c.dY[0]!;
  const pos = e.op('Greater', [c.x[0], e.constF([0], [], c.x[0])]);
  // for x <= 0: y = gamma alpha (e^x - 1), dy/dx = y + gamma alpha
  return [e.select(pos, e.scale(dy, gamma), e.mul(dy, e.add(c.y[0], e.constF([gamma * alpha], [], c.y[0]))))];
});

registerGradient('Celu', (c) => {
  const e = c.e;
  const alpha = attrFloat(c.node, 'alpha', 1);
  const dy = c.dY[0]!;
  const pos = e.op('Greater', [c.x[0], e.constF([0], [], c.x[0])]);
  // for x <= 0: y = alpha (e^(x/alpha) - 1), dy/dx = e^(x/alpha) = y/alpha + 1
  return [e.select(pos, dy, e.mul(dy, e.add(e.scale(c.y[0], 1 / alpha), e.constF([1], [], c.y[0]))))];
}, { since: 12 });

registerGradient('HardSigmoid', (c) => {
  const e = c.e;
  const alpha = attrFloat(c.node, 'alpha', 0.2);
  const beta = attrFloat(c.node, 'beta', 0.5);
  const x = c.x[0];
  const t = e.add(e.scale(x, alpha), e.constF([beta], [], x));
  const inside = e.op('And', [e.op('Greater', [t, e.constF([0], [], x)]), e.op('Less', [t, e.constF([1], [], x)])]);
  return [e.maskWhere(inside, e.scale(c.dY[0]!, alpha))];
});

registerGradient('HardSwish', (c) => {
  // y = x * clip(x/6 + 1/2, 0, 1): slope 0 below -3, 1 above 3, x/3 + 1/2 between
  const e = c.e;
  const x = c.x[0];
  const mid = e.add(e.scale(x, 1 / 3), e.constF([0.5], [], x));
  const upper = e.select(e.op('Greater', [x, e.constF([3], [], x)]), e.constF([1], [], x), mid);
  const slope = e.select(e.op('Less', [x, e.constF([-3], [], x)]), e.constF([0], [], x), upper);
  return [e.mul(c.dY[0]!, slope)];
}, { since: 14 });

registerGradient('Gelu', (c) => {
  const e = c.e;
  const x = c.x[0];
  if (attrString(c.node, 'approximate', 'none') === 'tanh') {
    // y = 0.5 x (1 + tanh(u)), u = k (x + 0.044715 x^3), k = sqrt(2/pi)
    const k = Math.sqrt(2 / Math.PI);
    const x2 = e.mul(x, x);
    const u = e.scale(e.add(x, e.scale(e.mul(x2, x), 0.044715)), k);
    const t = e.op('Tanh', [u]);
    const one = e.constF([1], [], x);
    const du = e.scale(e.add(one, e.scale(x2, 3 * 0.044715)), k);
    const g = e.add(e.scale(e.add(one, t), 0.5), e.mul(e.scale(x, 0.5), e.mul(e.sub(one, e.mul(t, t)), du)));
    return [e.mul(c.dY[0]!, g)];
  }
  // y = x Phi(x): dy/dx = Phi(x) + x phi(x)
  const phiBig = e.scale(e.add(e.constF([1], [], x), e.op('Erf', [e.scale(x, Math.SQRT1_2)])), 0.5);
  const phi = e.scale(e.op('Exp', [e.scale(e.mul(x, x), -0.5)]), 1 / Math.sqrt(2 * Math.PI));
  return [e.mul(c.dY[0]!, e.add(phiBig, e.mul(x, phi)))];
}, { since: 20 });

registerGradient('Clip', (c) => {
  const e = c.e;
  const x = c.x[0];
  let lo: string | undefined;
  let hi: string | undefined;
  if (c.opset < 11) {
    const min = attrFloat(c.node, 'min');
    const max = attrFloat(c.node, 'max');
    lo = min === undefined ? undefined : e.constF([min], [], x);
    hi = max === undefined ? undefined : e.constF([max], [], x);
  } else {
    lo = c.x[1] || undefined;
    hi = c.x[2] || undefined;
    if ((lo && c.needs[1]) || (hi && c.needs[2])) {
      throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to Clip's bounds are not supported`);
    }
  }
  // pass the gradient where min < x < max, read from the output y (the same
  // set: y > min exactly when x > min): PyTorch's hardtanh/ReLU6 rule, and
  // reading y leaves Conv + Clip fusable. (torch.clamp also passes it at
  // x == min or max exactly.)
  const y = c.y[0];
  let mask: string | undefined;
  if (lo) mask = e.op('Greater', [y, lo]);
  if (hi) {
    const m = e.op('Less', [y, hi]);
    mask = mask ? e.op('And', [mask, m]) : m;
  }
  return [mask ? e.maskWhere(mask, c.dY[0]!) : c.dY[0]!];
});

registerGradient(['Max', 'Min'], (c) => {
  // each input gets the gradient where it equals the result
  const e = c.e;
  return c.x.map((x, i) => (c.needs[i] ? to(c, e.maskWhere(e.op('Equal', [x, c.y[0]]), c.dY[0]!), i) : undefined));
});

registerGradient('Where', (c) => {
  const e = c.e;
  const [cond, a, b] = c.x;
  const dy = c.dY[0]!;
  const zero = e.constF([0], [], dy);
  return [
    undefined,
    c.needs[1] ? to(c, e.select(cond, dy, zero), 1) : undefined,
    c.needs[2] ? to(c, e.select(cond, zero, dy), 2) : undefined,
  ];
});
