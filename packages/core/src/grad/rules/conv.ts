/**
 * Conv and ConvTranspose. The adjoint of a convolution with respect to its
 * input is a transposed convolution with the same weights, and vice versa.
 * Emitted with auto_pad NOTSET, explicit pads and output_padding, never
 * output_shape: onnxruntime's handling of the others has diverged from the
 * spec (see its issue tracker).
 */
import { registerGradient } from '../registry';
import { attrInt, attrInts, attrString, nodeLabel } from '../../onnx/attributes';
import { GradientError } from '../emitter';
import { windowOf } from './window';
import { DataType } from '../../onnx/types';

/**
 * The weights of the input-gradient of a stride-1 convolution, as a plain
 * convolution: flipped in space, input and output channels swapped within each
 * group: W'[g*Cg + c, m, k] = W[g*Mg + m, c, K - 1 - k].
 */
function flippedWeights(w: Float32Array, ws: number[], group: number): { data: Float32Array; dims: number[] } {
  const [m, cg, ...k] = ws;
  const kk = k.reduce((a, b) => a * b, 1);
  const mg = m / group;
  const out = new Float32Array(w.length);
  for (let g = 0; g < group; g++) {
    for (let mi = 0; mi < mg; mi++) {
      for (let ci = 0; ci < cg; ci++) {
        const src = ((g * mg + mi) * cg + ci) * kk;
        const dst = ((g * cg + ci) * mg + mi) * kk;
        for (let j = 0; j < kk; j++) out[dst + j] = w[src + kk - 1 - j];
      }
    }
  }
  return { data: out, dims: [cg * group, mg, ...k] };
}

registerGradient('Conv', (c) => {
  const e = c.e;
  const [x, w, bias] = c.x;
  if (c.needs[1] || (bias && c.needs[2])) {
    throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to Conv weights or bias are not supported (attribution differentiates inputs, not weights)`);
  }
  const xs = e.spatialDims(x, c.node);
  const ws = e.staticDims(w, c.node);
  const ys = e.spatialDims(c.y[0], c.node);
  const kernel = attrInts(c.node, 'kernel_shape', ws.slice(2));
  const win = windowOf(c.node, xs, kernel);
  const n = xs.length;
  const group = attrInt(c.node, 'group', 1);
  // Stride 1 with constant float32 weights: the input gradient is an ordinary
  // convolution with flipped weights and pads (k - 1) d - p. onnxruntime runs
  // Conv much faster than ConvTranspose (blocked layouts, no col2im).
  const wValue = e.constantFloats(w);
  const flipPads = [...Array(2 * n).keys()].map((i) => (kernel[i % n] - 1) * win.dilations[i % n] - win.pads[i]);
  if (wValue && win.strides.every((s) => s === 1) && flipPads.every((p) => p >= 0)) {
    const flipped = flippedWeights(wValue, ws, group);
    const g = e.op('Conv', [c.dY[0]!, e.constTensor(flipped.data, flipped.dims, w)], {
      dilations: win.dilations,
      pads: flipPads,
      group,
      kernel_shape: kernel,
    });
    return [g, undefined, undefined];
  }
  // Strided depthwise convolutions (MobileNet's): onnxruntime runs grouped
  // ConvTranspose slowly, so spread dY with zeros between its elements
  // (nearest Resize by the stride, times a 0/1 mask) and take the same
  // flipped-weight depthwise Conv as for stride 1. That is s^2 times the
  // multiply-adds of a cheap op; dense convs keep ConvTranspose.
  const cIn = e.shape(x)[1];
  if (wValue && group > 1 && group === cIn && ws[0] === group && n === 2 && c.opset >= 11) {
    const dyLen = ys.map((o, i) => (o - 1) * win.strides[i] + 1);
    const pb = flipPads.slice(0, n);
    const pe = xs.map((size, i) => size - dyLen[i] - pb[i] + (kernel[i] - 1) * win.dilations[i]);
    if (pb.every((p) => p >= 0) && pe.every((p) => p >= 0)) {
      const [sh, sw] = win.strides;
      const [oh, ow] = ys;
      // nearest upsampling by the stride, then a constant 0/1 mask keeps one element per block
      const up = e.op('Resize', [c.dY[0]!, '', e.constF([1, 1, sh, sw], [4], DataType.FLOAT)], {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      });
      const mask = new Float32Array(oh * sh * ow * sw);
      for (let i = 0; i < oh * sh; i += sh) for (let j = 0; j < ow * sw; j += sw) mask[i * ow * sw + j] = 1;
      const spread = e.slice(e.mul(up, e.constTensor(mask, [1, 1, oh * sh, ow * sw], c.dY[0]!)), [0, 0], dyLen, [2, 3]);
      const flipped = flippedWeights(wValue, ws, group);
      const g = e.op('Conv', [spread, e.constTensor(flipped.data, flipped.dims, w)], {
        dilations: win.dilations,
        pads: [...pb, ...pe],
        group,
        kernel_shape: kernel,
      });
      return [g, undefined, undefined];
    }
  }
  // ConvTranspose output: s (in - 1) + output_padding + (k - 1) d + 1 - pad_begin - pad_end; make it equal x's size
  const outputPadding = xs.map((size, i) => size - (win.strides[i] * (ys[i] - 1) + (kernel[i] - 1) * win.dilations[i] + 1 - win.pads[i] - win.pads[i + n]));
  if (outputPadding.some((p) => p < 0)) throw new GradientError(`${nodeLabel(c.node)}: inconsistent convolution geometry`);
  // onnxruntime requires output_padding < stride (or dilation); extra rows that no output touched get zero gradient
  const extra = outputPadding.map((p, i) => Math.max(0, p - Math.max(win.strides[i], win.dilations[i]) + 1));
  const op = outputPadding.map((p, i) => p - extra[i]);
  let g = e.op('ConvTranspose', [c.dY[0]!, w], {
    strides: win.strides,
    dilations: win.dilations,
    pads: win.pads,
    group,
    kernel_shape: kernel,
    output_padding: op,
    auto_pad: 'NOTSET',
  });
  if (extra.some((p) => p > 0)) g = e.pad(g, [0, 0, ...Array(n).fill(0), 0, 0, ...extra]);
  return [g, undefined, undefined];
});

registerGradient('ConvTranspose', (c) => {
  const e = c.e;
  const [x, w, bias] = c.x;
  if (c.needs[1] || (bias && c.needs[2])) {
    throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to ConvTranspose weights or bias are not supported`);
  }
  const xs = e.spatialDims(x, c.node);
  const ws = e.staticDims(w, c.node);
  const ys = e.spatialDims(c.y[0], c.node);
  const n = xs.length;
  const kernel = attrInts(c.node, 'kernel_shape', ws.slice(2));
  const strides = attrInts(c.node, 'strides', Array(n).fill(1));
  const dilations = attrInts(c.node, 'dilations', Array(n).fill(1));
  const outputPadding = attrInts(c.node, 'output_padding', Array(n).fill(0));
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET');
  let pads = attrInts(c.node, 'pads', Array(2 * n).fill(0));
  if (autoPad !== 'NOTSET' || attrInts(c.node, 'output_shape')) {
    // Operators.md, ConvTranspose: total = s (in - 1) + output_padding + (k - 1) d + 1 - out
    pads = Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const total = strides[i] * (xs[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - ys[i];
      const half = Math.floor(total / 2);
      if (autoPad === 'SAME_UPPER') [pads[i], pads[i + n]] = [half, total - half];
      else [pads[i], pads[i + n]] = [total - half, half];
    }
  }
  // The adjoint is a Conv over dY with the same weights; the output tail that
  // output_padding added past the last window is simply not read. A negative
  // pad (output_shape asking for more than the windows cover) marks output
  // positions no input reaches: crop them from dY instead.
  let dy = c.dY[0]!;
  if (pads.some((p) => p < 0)) {
    const axes = [...Array(n).keys()].map((i) => i + 2);
    dy = e.slice(dy, pads.slice(0, n).map((p) => Math.max(0, -p)), ys.map((size, i) => size - Math.max(0, -pads[i + n])), axes);
    pads = pads.map((p) => Math.max(0, p));
  }
  const g = e.op('Conv', [dy, w], {
    strides,
    dilations,
    pads,
    group: attrInt(c.node, 'group', 1),
    kernel_shape: kernel,
  });
  return [g, undefined, undefined];
});
