/** Ops that move, select or repeat elements: their gradients move them back. */
import { registerGradient, type GradContext } from '../registry';
import { attrInt, attrInts, attrString, nodeLabel } from '../../onnx/attributes';
import { GradientError } from '../emitter';

const INT_MAX = 2 ** 31 - 1;

// Reshape-like ops: the gradient takes the input's shape back.
registerGradient(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'], (c) => [c.e.reshapeLike(c.dY[0]!, c.x[0])]);

registerGradient('Transpose', (c) => {
  const rank = c.e.rank(c.x[0]);
  const perm = attrInts(c.node, 'perm', [...Array(rank).keys()].reverse());
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [c.e.transpose(c.dY[0]!, inverse)];
});

registerGradient('Expand', (c) => [c.e.sumTo(c.dY[0]!, c.e.shape(c.y[0]), c.x[0]), undefined]);

registerGradient('Concat', (c) => {
  const e = c.e;
  const rank = e.rank(c.y[0]);
  let axis = attrInt(c.node, 'axis', 0);
  if (axis < 0) axis += rank;
  let offset = 0;
  return c.x.map((x, i) => {
    const size = e.shape(x)[axis];
    if (typeof size !== 'number') throw new GradientError(`${nodeLabel(c.node)}: concatenation along the batch axis is not supported`);
    const start = offset;
    offset += size;
    return c.needs[i] ? e.slice(c.dY[0]!, [start], [start + size], [axis]) : undefined;
  });
});

registerGradient('Split', (c) => {
  const e = c.e;
  const rank = e.rank(c.x[0]);
  let axis = attrInt(c.node, 'axis', 0);
  if (axis < 0) axis += rank;
  const parts = c.y.map((y, i) => c.dY[i] ?? e.zerosLike(y));
  return [e.concat(parts, axis), undefined];
});

/** Puts dY back at the positions Slice took, with zeros elsewhere (no Scatter: mask-free padding). */
registerGradient('Slice', (c) => {
  const e = c.e;
  const dims = e.shape(c.x[0]);
  const rank = dims.length;
  let starts: number[] | undefined;
  let ends: number[] | undefined;
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (c.opset < 10) {
    starts = attrInts(c.node, 'starts');
    ends = attrInts(c.node, 'ends');
    axes = attrInts(c.node, 'axes');
  } else {
    starts = e.constantInts(c.x[1]);
    ends = e.constantInts(c.x[2]);
    axes = c.x[3] ? e.constantInts(c.x[3]) : undefined;
    steps = c.x[4] ? e.constantInts(c.x[4]) : undefined;
    if (!starts || !ends || (c.x[3] && !axes) || (c.x[4] && !steps)) {
      throw new GradientError(`${nodeLabel(c.node)}: Slice with non-constant starts, ends, axes or steps has no gradient rule`);
    }
  }
  axes = (axes ?? starts!.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  let g = c.dY[0]!;
  const padBegin = new Array(rank).fill(0);
  const padEnd = new Array(rank).fill(0);
  axes.forEach((axis, i) => {
    const dim = dims[axis];
    const step = steps?.[i] ?? 1;
    if (typeof dim !== 'number') {
      if (step === 1 && starts![i] === 0 && ends![i] >= INT_MAX) return; // the whole batch
      throw new GradientError(`${nodeLabel(c.node)}: slicing the batch axis is not supported`);
    }
    // the positions taken, as Operators.md's Slice defines them
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts![i] < 0 ? starts![i] + dim : starts![i];
    let en = ends![i] < 0 ? ends![i] + dim : ends![i];
    if (step > 0) {
      s = clamp(s, 0, dim);
      en = clamp(en, 0, dim);
    } else {
      s = clamp(s, 0, dim - 1);
      en = clamp(en, -1, dim - 1);
    }
    const count = Math.max(0, Math.ceil((en - s) / step));
    if (count === 0) throw new GradientError(`${nodeLabel(c.node)}: empty slice`);
    let first = s;
    const stride = Math.abs(step);
    if (step < 0) {
      // reverse dY along the axis so positions ascend
      g = e.slice(g, [-1], [-INT_MAX], [axis], [-1]);
      first = s + (count - 1) * step;
    }
    if (stride > 1) {
      // interleave stride-1 zeros after each element: [.., count, ..] -> [.., count * stride, ..]
      const shape = e.shape(c.y[0]).map((d, k) => (k === axis ? count : d));
      const unsq = e.unsqueeze(g, [axis + 1]);
      const pads = new Array(2 * (rank + 1)).fill(0);
      pads[rank + 1 + axis + 1] = stride - 1;
      const spread = e.pad(unsq, pads);
      const merged = shape.map((d, k) => (k === axis ? count * stride : typeof d === 'number' ? d : 0));
      g = e.reshape(spread, merged);
      g = e.slice(g, [0], [(count - 1) * stride + 1], [axis]);
    }
    padBegin[axis] = first;
    padEnd[axis] = dim - (first + (count - 1) * stride + 1);
  });
  return [e.pad(g, [...padBegin, ...padEnd])];
});

registerGradient('Pad', (c) => {
  const e = c.e;
  const mode = c.opset < 11 ? attrString(c.node, 'mode', 'constant') : attrString(c.node, 'mode', 'constant');
  if (mode !== 'constant') throw new GradientError(`${nodeLabel(c.node)}: Pad in '${mode}' mode has no gradient rule`);
  const rank = e.rank(c.x[0]);
  let pads = c.opset < 11 ? attrInts(c.node, 'pads') : e.constantInts(c.x[1]);
  if (!pads) throw new GradientError(`${nodeLabel(c.node)}: the pads input is not a constant`);
  const axesIn = c.opset >= 18 && c.x[3] ? e.constantInts(c.x[3]) : undefined;
  if (axesIn) {
    const full = new Array(2 * rank).fill(0);
    axesIn.forEach((a, i) => {
      const ax = a < 0 ? a + rank : a;
      full[ax] = pads![i];
      full[ax + rank] = pads![i + axesIn.length];
    });
    pads = full;
  }
  // cut the padding off again; negative pads (crops) are undone by padding zeros
  const yDims = e.shape(c.y[0]);
  const starts: number[] = [];
  const ends: number[] = [];
  const axes: number[] = [];
  const regrow = new Array(2 * rank).fill(0);
  for (let i = 0; i < rank; i++) {
    const b = pads[i];
    const en = pads[i + rank];
    if (b > 0 || en > 0) {
      const size = yDims[i];
      if (typeof size !== 'number') throw new GradientError(`${nodeLabel(c.node)}: padding the batch axis is not supported`);
      axes.push(i);
      starts.push(Math.max(b, 0));
      ends.push(size - Math.max(en, 0));
    }
    if (b < 0) regrow[i] = -b;
    if (en < 0) regrow[i + rank] = -en;
  }
  let g = c.dY[0]!;
  if (axes.length) g = e.slice(g, starts, ends, axes);
  return [e.pad(g, regrow), undefined, undefined, undefined];
});

registerGradient('Tile', (c) => {
  const e = c.e;
  const repeats = e.constantInts(c.x[1]);
  if (!repeats) throw new GradientError(`${nodeLabel(c.node)}: the repeats input is not a constant`);
  const dims = e.shape(c.x[0]);
  // dY has extent r_i * d_i on axis i, tile-major: view it as [r_0, d_0, r_1, d_1, ...] and sum the r axes
  const view = dims.flatMap((d, i) => [repeats[i], typeof d === 'number' ? d : -1]);
  const summed = e.reduceSum(e.reshape(c.dY[0]!, view), dims.map((_, i) => 2 * i), false);
  return [e.reshapeLike(summed, c.x[0]), undefined];
});

registerGradient('DepthToSpace', (c) => {
  const e = c.e;
  const b = attrInt(c.node, 'blocksize')!;
  const [, ch, h, w] = e.shape(c.x[0]);
  if (typeof ch !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw new GradientError(`${nodeLabel(c.node)}: needs static channel and spatial sizes`);
  }
  const cOut = ch / (b * b);
  const view = e.reshape(c.dY[0]!, [0, cOut, h, b, w, b]);
  // DCR: x -> [N, b, b, C', H, W] -> perm [0,3,4,1,5,2]; CRD: x -> [N, C', b, b, H, W] -> perm [0,1,4,2,5,3]
  const dcr = attrString(c.node, 'mode', 'DCR') === 'DCR';
  const back = e.transpose(view, dcr ? [0, 3, 5, 1, 2, 4] : [0, 1, 3, 5, 2, 4]);
  return [e.reshapeLike(back, c.x[0])];
});

registerGradient('SpaceToDepth', (c) => {
  const e = c.e;
  const b = attrInt(c.node, 'blocksize')!;
  const [, ch, h, w] = e.shape(c.y[0]);
  if (typeof ch !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw new GradientError(`${nodeLabel(c.node)}: needs static channel and spatial sizes`);
  }
  // y = x viewed [N, C, H, b, W, b] -> perm [0,3,5,1,2,4] -> [N, b*b*C, H, W]
  const view = e.reshape(c.dY[0]!, [0, b, b, ch / (b * b), h, w]);
  return [e.reshapeLike(e.transpose(view, [0, 3, 4, 1, 5, 2]), c.x[0])];
});

/**
 * Gather without ScatterND: the gradient of data is onehot(indices)^T @ dY,
 * with the one-hot built from Equal against a Range over the gathered axis.
 */
registerGradient('Gather', (c) => {
  const e = c.e;
  const [data, indices] = c.x;
  if (!c.needs[0]) return [undefined, undefined];
  const dDims = e.shape(data);
  const rank = dDims.length;
  let axis = attrInt(c.node, 'axis', 0);
  if (axis < 0) axis += rank;
  const size = dDims[axis];
  if (typeof size !== 'number') throw new GradientError(`${nodeLabel(c.node)}: gathering along the batch axis is not supported`);
  const iDims = e.shape(indices);
  const known = (ds: (number | string)[]) => ds.every((d) => typeof d === 'number');
  const pre = dDims.slice(0, axis);
  const post = dDims.slice(axis + 1);
  const count = (ds: (number | string)[]) => ds.reduce<number>((a, d) => a * (d as number), 1);
  const dynamic = [known(pre), known(iDims), known(post)].filter((k) => !k).length;
  if (dynamic > 1) throw new GradientError(`${nodeLabel(c.node)}: Gather with the batch in more than one of data's leading axes, indices and data's trailing axes is not supported`);
  const P = known(pre) ? count(pre) : -1;
  const I = known(iDims) ? count(iDims) : -1;
  const Q = known(post) ? count(post) : -1;
  // negative indices count from the end
  const idx64 = e.op('Cast', [indices], { to: 7 });
  const negative = e.op('Cast', [e.op('Less', [idx64, e.constI64([0], [])])], { to: 7 });
  const wrapped = e.add(idx64, e.mul(negative, e.constI64([size], [])));
  const flatIdx = e.reshape(wrapped, [-1, 1]);
  const positions = e.constI64([...Array(size).keys()], [1, size]);
  const oneHot = e.castLike(e.op('Equal', [flatIdx, positions]), data); // [I, D]
  const g = e.reshape(c.dY[0]!, [P, I, Q]);
  const scattered = e.op('MatMul', [e.transpose(oneHot, [1, 0]), g]); // [P, D, Q]
  return [e.reshapeLike(scattered, data), undefined];
});

// Trilu keeps a triangle and zeroes the rest: its gradient keeps the same triangle of dY
registerGradient('Trilu', (c) => [c.e.op('Trilu', [c.dY[0]!, ...(c.x[1] ? [c.x[1]] : [])], { upper: attrInt(c.node, 'upper', 1) }), undefined], { since: 14 });

// ReverseSequence reverses each sequence's first seq_lens[b] steps: applied again to dY, it puts them back
registerGradient('ReverseSequence', (c) => [
  c.e.op('ReverseSequence', [c.dY[0]!, c.x[1]], { batch_axis: attrInt(c.node, 'batch_axis', 1), time_axis: attrInt(c.node, 'time_axis', 0) }),
  undefined,
], { since: 10 });

/**
 * The gradient of out[p] = data[p with p[axis] = indices[p]] (GatherElements,
 * and TopK's values with its own indices). Without a scatter (WebGPU runs
 * none): a one-hot of the indices along a new last axis, times dY, summed
 * over the gathered axis, and that last axis moved into its place.
 */
function gatheredBack(c: GradContext, data: string, indices: string, axis: number, dy: string): string {
  const e = c.e;
  const dDims = e.shape(data);
  const iDims = e.shape(indices);
  const rank = dDims.length;
  const size = dDims[axis];
  if (typeof size !== 'number') throw new GradientError(`${nodeLabel(c.node)}: gathering along the batch axis is not supported`);
  const idx64 = e.op('Cast', [indices], { to: 7 });
  const negative = e.op('Cast', [e.op('Less', [idx64, e.constI64([0], [])])], { to: 7 });
  const wrapped = e.add(idx64, e.mul(negative, e.constI64([size], [])));
  const positions = e.constI64([...Array(size).keys()], [...Array(rank).fill(1), size]);
  const hit = e.castLike(e.op('Equal', [e.unsqueeze(wrapped, [rank]), positions]), data); // [...indices, size]
  const spread = e.reduceSum(e.mul(hit, e.unsqueeze(dy, [rank])), [axis], false); // indices' axes but `axis`, then size
  const perm = [...Array(rank).keys()].map((a) => (a < axis ? a : a === axis ? rank - 1 : a - 1));
  let grad = e.transpose(spread, perm);
  // indices may be shorter than data along the other axes: the rest of data gets no gradient
  const short = dDims.map((d, a) => (a === axis || typeof d !== 'number' || typeof iDims[a] !== 'number' ? 0 : d - (iDims[a] as number)));
  if (short.some((v) => v > 0)) grad = e.pad(grad, [...Array(rank).fill(0), ...short]);
  return grad;
}

/**
 * GatherND: each gathered slice's gradient goes back to the data position its
 * index tuple names, summed where indices repeat. Without Scatter (WebGPU
 * has none), per batch (the leading batch_dims axes, flattened): the index
 * tuples become flat positions, the positions a one-hot matrix, and
 * onehot^T times dY puts every slice back: [B, M, R] = [B, n, M]^T [B, n, R].
 */
registerGradient('GatherND', (c) => {
  const e = c.e;
  const [data, indices] = c.x;
  if (!c.needs[0]) return [undefined, undefined];
  const b = attrInt(c.node, 'batch_dims', 0);
  const dDims = e.shape(data);
  const iDims = e.shape(indices);
  const k = iDims[iDims.length - 1];
  const indexed = dDims.slice(b, b + (k as number));
  const rest = dDims.slice(b + (k as number));
  const tuples = iDims.slice(b, -1);
  const fixed = (ds: (number | string)[]) => ds.every((d) => typeof d === 'number');
  if (typeof k !== 'number' || !fixed(indexed) || !fixed(rest) || !fixed(tuples)) {
    throw new GradientError(`${nodeLabel(c.node)}: GatherND's gradient needs static indexed, trailing and index-tuple sizes (data [${dDims.join(', ')}], indices [${iDims.join(', ')}], batch_dims ${b})`);
  }
  const count = (ds: (number | string)[]) => ds.reduce<number>((a, d) => a * (d as number), 1);
  const M = count(indexed);
  const R = count(rest);
  const n = count(tuples);
  const sizes = indexed as number[];
  const strides = sizes.map((_, j) => count(sizes.slice(j + 1)));
  // [Bflat, n, k] index tuples, negatives counted from the end
  let idx = e.reshape(e.op('Cast', [indices], { to: 7 }), [-1, n, k]);
  idx = e.op('Where', [e.op('Less', [idx, e.constI64([0], [])]), e.add(idx, e.constI64(sizes, [k])), idx]);
  const flat = e.reduceSum(e.mul(idx, e.constI64(strides, [k])), [2], true); // [Bflat, n, 1]
  const onehot = e.op('Cast', [e.op('Equal', [flat, e.constI64([...Array(M).keys()], [1, 1, M])])], { to: e.elemType(data) });
  const dy = e.reshape(c.dY[0]!, [-1, n, R]);
  const g = e.op('MatMul', [e.transpose(onehot, [0, 2, 1]), dy]);
  return [e.reshapeLike(g, data), undefined];
}, { since: 11 });

registerGradient('GatherElements', (c) => {
  if (!c.needs[0]) return [undefined, undefined];
  const rank = c.e.rank(c.x[0]);
  let axis = attrInt(c.node, 'axis', 0);
  if (axis < 0) axis += rank;
  return [gatheredBack(c, c.x[0], c.x[1], axis, c.dY[0]!), undefined];
}, { since: 11 });

// TopK's values are x gathered at its own indices output along `axis`
registerGradient('TopK', (c) => {
  if (!c.y[1]) throw new GradientError(`${nodeLabel(c.node)}: TopK's indices output has no name to read`);
  const rank = c.e.rank(c.x[0]);
  let axis = attrInt(c.node, 'axis', -1);
  if (axis < 0) axis += rank;
  return [gatheredBack(c, c.x[0], c.y[1], axis, c.dY[0]!), undefined];
}, { since: 10, nonDifferentiableOutputs: [1] });
