/**
 * Pooling. No rule uses MaxPool's Indices output, ScatterND or
 * ScatterElements: onnxruntime-web's WebGPU EP runs none of them. MaxPool's
 * gradient reads each kernel offset of every window with a depthwise Conv of
 * one-hot kernels (a single non-zero tap sums one product, so the values are
 * exact), routes each window's gradient to its first offset equal to the max,
 * and puts the routed gradients back with the transposed convolution of the
 * same one-hot kernels. AveragePool's spreads each window's share with a
 * transposed convolution of ones.
 */
import { registerGradient, type GradContext } from '../registry';
import { attrInt, attrInts, nodeLabel } from '../../onnx/attributes';
import { GradientError } from '../emitter';
import { windowOf, windowOutput, type Window } from './window';

const FLT_LOWEST = -3.4028234663852886e38;

function prod(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

interface PoolGeometry {
  spatial: number[];
  out: number[];
  win: Window;
  /** Canvas padding at the end, ceil-mode overflow included. */
  padEnd: number[];
  extent: number[];
}

function geometry(c: GradContext): PoolGeometry {
  const e = c.e;
  const spatial = e.spatialDims(c.x[0], c.node);
  const kernel = attrInts(c.node, 'kernel_shape');
  if (!kernel) throw new GradientError(`${nodeLabel(c.node)}: no kernel_shape`);
  const win = windowOf(c.node, spatial, kernel);
  const out = e.spatialDims(c.y[0], c.node);
  const expected = windowOutput(win, spatial);
  if (expected.some((o, i) => o !== out[i])) {
    throw new GradientError(`${nodeLabel(c.node)}: output size [${out}] does not match the pooling geometry [${expected}]`);
  }
  const n = spatial.length;
  const extent = out.map((o, i) => (o - 1) * win.strides[i] + (kernel[i] - 1) * win.dilations[i] + 1);
  const padEnd = spatial.map((s, i) => Math.max(win.pads[i + n], extent[i] - s - win.pads[i]));
  return { spatial, out, win, padEnd, extent };
}

/** Scatters per-offset gradients [N*C, K, ...out] (or [N*C, 1, ...out] with a ones kernel) back onto x's positions. */
function scatterBack(c: GradContext, g: string, kernelWeights: string, geo: PoolGeometry): string {
  const e = c.e;
  const n = geo.spatial.length;
  let canvas = e.op('ConvTranspose', [g, kernelWeights], {
    strides: geo.win.strides,
    dilations: geo.win.dilations,
    kernel_shape: geo.win.kernel,
    auto_pad: 'NOTSET',
  });
  // canvas covers padded coordinates [0, extent); x sits at [pad_begin, pad_begin + size)
  const short = geo.spatial.map((s, i) => Math.max(0, geo.win.pads[i] + s - geo.extent[i]));
  if (short.some((p) => p > 0)) canvas = e.pad(canvas, [0, 0, ...Array(n).fill(0), 0, 0, ...short]);
  const axes = geo.spatial.map((_, i) => i + 2);
  const cropped = e.slice(canvas, geo.win.pads.slice(0, n), geo.spatial.map((s, i) => geo.win.pads[i] + s), axes);
  return e.reshapeLike(cropped, c.x[0]);
}

registerGradient('MaxPool', (c) => {
  const e = c.e;
  if (c.dY[1]) throw new GradientError(`${nodeLabel(c.node)}: Indices output cannot carry a gradient`);
  const geo = geometry(c);
  const n = geo.spatial.length;
  const k = prod(geo.win.kernel);
  const channels = e.shape(c.x[0])[1];
  if (typeof channels !== 'number') throw new GradientError(`${nodeLabel(c.node)}: needs a static channel count`);
  const window = { strides: geo.win.strides, dilations: geo.win.dilations, kernel_shape: geo.win.kernel, group: channels };
  // offsets that fall in the padding must never win: pad with -FLT_MAX first
  const padded = e.pad(c.x[0], [0, 0, ...geo.win.pads.slice(0, n), 0, 0, ...geo.padEnd], FLT_LOWEST);
  const lift = [0, channels, 1, ...geo.out];
  const y = e.reshape(c.y[0], lift);
  let left = e.reshape(c.dY[0]!, lift);
  const zero = e.constF([0], [], c.x[0]);
  const routed: string[] = [];
  // One depthwise Conv per offset, not one grouped Conv with K outputs per
  // channel and an ArgMax over them: onnxruntime runs depthwise Convs in its
  // blocked layout and grouped ones through im2col (measured on SqueezeNet
  // and ResNet-18: the gradient model 13-15% faster). The gradient left to
  // route goes to the first offset that hits the max (PyTorch's and
  // onnxruntime's Indices on ties) and is then spent.
  for (let o = 0; o < k; o++) {
    const w = new Float32Array(channels * k);
    for (let ch = 0; ch < channels; ch++) w[ch * k + o] = 1;
    const patch = e.op('Conv', [padded, e.constTensor(w, [channels, 1, ...geo.win.kernel], c.x[0])], window);
    const hit = c.opset >= 11 ? e.op('Equal', [e.reshape(patch, lift), y]) : e.op('Not', [e.op('Less', [e.reshape(patch, lift), y])]);
    routed.push(e.select(hit, left, zero));
    if (o < k - 1) left = e.sub(left, routed[o]);
  }
  // each offset's gradient back where it came from: with rows and channels
  // merged, the transposed convolution of the one-hot kernels [K, 1, ...kernel]
  const oneHot = new Float32Array(k * k);
  for (let j = 0; j < k; j++) oneHot[j * k + j] = 1;
  const perOffset = e.reshape(e.concat(routed, 2), [-1, k, ...geo.out]);
  return [scatterBack(c, perOffset, e.constTensor(oneHot, [k, 1, ...geo.win.kernel], c.x[0]), geo)];
}, { nonDifferentiableOutputs: [1] });

registerGradient('AveragePool', (c) => {
  const e = c.e;
  const geo = geometry(c);
  const n = geo.spatial.length;
  const includePad = attrInt(c.node, 'count_include_pad', 0) === 1;
  // how many positions each window averages over: real positions only, or
  // real and explicit pads (never the ceil-mode overflow past the pads)
  const divisor = new Float32Array(prod(geo.out));
  const lo = geo.spatial.map((_, i) => (includePad ? -geo.win.pads[i] : 0));
  const hi = geo.spatial.map((s, i) => (includePad ? s + geo.win.pads[i + n] : s));
  const counts = geo.out.map((o, i) =>
    Array.from({ length: o }, (_, oi) => {
      let cnt = 0;
      for (let j = 0; j < geo.win.kernel[i]; j++) {
        const p = oi * geo.win.strides[i] + j * geo.win.dilations[i] - geo.win.pads[i];
        if (p >= lo[i] && p < hi[i]) cnt++;
      }
      return cnt;
    }),
  );
  for (let flat = 0; flat < divisor.length; flat++) {
    let rem = flat;
    let v = 1;
    for (let i = n - 1; i >= 0; i--) {
      v *= counts[i][rem % geo.out[i]];
      rem = Math.floor(rem / geo.out[i]);
    }
    divisor[flat] = v;
  }
  const dy = e.reshape(c.dY[0]!, [-1, 1, ...geo.out]);
  const scaled = e.div(dy, e.constTensor(divisor, [1, 1, ...geo.out], c.x[0]));
  const ones = e.constTensor(new Float32Array(prod(geo.win.kernel)).fill(1), [1, 1, ...geo.win.kernel], c.x[0]);
  return [scatterBack(c, scaled, ones, geo)];
});

// LpPool: y = (sum over the window of |x|^p)^(1/p). Each window passes
// dY * (|x| / y)^(p-1) sign(x) back to its positions; the windows' shares are
// spread with the transposed convolution of ones, as AveragePool's are.
registerGradient('LpPool', (c) => {
  const e = c.e;
  const geo = geometry(c);
  const p = attrInt(c.node, 'p', 2);
  const x = c.x[0];
  const y = e.reshape(c.y[0], [-1, 1, ...geo.out]);
  const dy = e.reshape(c.dY[0]!, [-1, 1, ...geo.out]);
  const ones = e.constTensor(new Float32Array(prod(geo.win.kernel)).fill(1), [1, 1, ...geo.win.kernel], x);
  if (p === 1) return [e.mul(scatterBack(c, dy, ones, geo), e.op('Sign', [x]))];
  // share per window: dY / y^(p-1); per position: times |x|^(p-1) sign(x) (x itself for p = 2)
  const pm1 = e.constF([p - 1], [], x);
  const share = e.div(dy, p === 2 ? y : e.op('Pow', [y, pm1]));
  const weight = p === 2 ? x : e.mul(e.op('Pow', [e.op('Abs', [x]), pm1]), e.op('Sign', [x]));
  return [e.mul(scatterBack(c, share, ones, geo), weight)];
});

registerGradient('GlobalAveragePool', (c) => {
  const e = c.e;
  const spatial = e.spatialDims(c.x[0], c.node);
  return [e.expandLike(e.scale(c.dY[0]!, 1 / prod(spatial)), c.x[0])];
});

registerGradient('GlobalMaxPool', (c) => {
  const e = c.e;
  const x = e.reshape(c.x[0], [0, 0, -1]);
  const y = e.reshape(c.y[0], [0, 0, 1]);
  const dy = e.reshape(c.dY[0]!, [0, 0, 1]);
  let isMax = e.op('Not', [e.op('Less', [x, y])]);
  if (c.opset >= 11) {
    const before = e.op('CumSum', [e.castLike(isMax, c.x[0]), e.constI64([2], [])], { exclusive: 1 });
    isMax = e.op('And', [isMax, e.op('Equal', [before, e.constF([0], [], c.x[0])])]);
  }
  return [e.reshapeLike(e.maskWhere(isMax, dy), c.x[0])];
});
