/**
 * Pooling. No rule uses MaxPool's Indices output, ScatterND or
 * ScatterElements: onnxruntime-web's WebGPU EP runs none of them. Instead the
 * input is cut into one channel per kernel offset ("patches", a depthwise
 * Conv with one-hot kernels), the winning offset of each window is found with
 * ArgMax, and the gradient is put back with the transposed convolution of the
 * same one-hot kernels. A Conv with a single non-zero weight per output sums
 * one product, so the patches hold the input values exactly.
 */
import { registerGradient, type GradContext } from '../registry';
import { attrInt, attrInts, nodeLabel } from '../../onnx/attributes';
import { GradientError } from '../emitter';
import { windowOf, windowOutput, type Window } from './window';

const FLT_LOWEST = -3.4028234663852886e38;

function prod(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** One-hot kernels [K, 1, ...kernel], one per kernel offset. */
function oneHotKernels(kernel: number[]): Float32Array {
  const k = prod(kernel);
  const w = new Float32Array(k * k);
  for (let j = 0; j < k; j++) w[j * k + j] = 1;
  return w;
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

/** Scatters per-offset gradients [NC, K, ...out] (or [NC, 1, ...out] with a ones kernel) back onto x's positions. */
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
  // One depthwise convolution cuts every window into K channels (one per
  // kernel offset): [N, C*K, ...out], zero-padded by the Conv itself.
  const oneHot = oneHotKernels(geo.win.kernel);
  const weights = new Float32Array(channels * k * k);
  for (let ch = 0; ch < channels; ch++) weights.set(oneHot, ch * k * k);
  const w = e.constTensor(weights, [channels * k, 1, ...geo.win.kernel], c.x[0]);
  const window = { strides: geo.win.strides, dilations: geo.win.dilations, kernel_shape: geo.win.kernel, group: channels };
  // offsets that fall in the padding must never win: pad with -FLT_MAX first
  const padded = e.pad(c.x[0], [0, 0, ...geo.win.pads.slice(0, n), 0, 0, ...geo.padEnd], FLT_LOWEST);
  const patches = e.op('Conv', [padded, w], window);
  const masked = e.reshape(patches, [0, channels, k, ...geo.out]);
  // the arg-max over offsets, first one on ties (as PyTorch and onnxruntime's Indices)
  const winner = e.op('ArgMax', [masked], { axis: 2, keepdims: 1, ...(c.opset >= 12 ? { select_last_index: 0 } : {}) });
  const hit = e.op('Equal', [winner, e.constI64([...Array(k).keys()], [1, 1, k, ...Array(n).fill(1)])]);
  // Mul by the cast mask: onnxruntime broadcasts Mul about twice as fast as Where
  const routed = e.mul(e.castLike(hit, c.x[0]), e.unsqueeze(c.dY[0]!, [2]));
  // put each offset's gradient back where it came from: the transposed depthwise convolution
  let canvas = e.op('ConvTranspose', [e.reshape(routed, [0, channels * k, ...geo.out]), w], { ...window, auto_pad: 'NOTSET' });
  const short = geo.spatial.map((s, i) => Math.max(0, geo.win.pads[i] + s - geo.extent[i]));
  if (short.some((p) => p > 0)) canvas = e.pad(canvas, [0, 0, ...Array(n).fill(0), 0, 0, ...short]);
  const axes = geo.spatial.map((_, i) => i + 2);
  return [e.slice(canvas, geo.win.pads.slice(0, n), geo.spatial.map((s, i) => geo.win.pads[i] + s), axes)];
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
