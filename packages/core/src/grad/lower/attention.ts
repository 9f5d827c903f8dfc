/**
 * com.microsoft Attention and MultiHeadAttention (ContribOperators.md) in
 * MatMul, Softmax and friends. The additive mask follows onnxruntime's CPU
 * kernel (attention_helper.h PrepareMask): a masked key position gets
 * mask_filter_value, a future one under unidirectional gets the lowest
 * float (set, not added), and the result is added to the scaled scores
 * before the softmax.
 */
import { DataType } from '../../onnx/types';
import { attrFloat, attrInt, attrInts, nodeLabel } from '../../onnx/attributes';
import { GradientError, type Emitter } from '../emitter';
import { registerLowering, type LowerContext } from './registry';

const MS = 'com.microsoft';
const LOWEST = -3.4028234663852886e38;

/** [B, L, N*h] -> [B, N, L, h] */
function heads(e: Emitter, t: string, n: number, h: number): string {
  return e.transpose(e.reshape(t, [0, 0, n, h]), [0, 2, 1, 3]);
}

/** A static dimension, or an error naming the op and the tensor. */
function dim(c: LowerContext, name: string, axis: number): number {
  const d = c.e.shape(name)[axis];
  if (typeof d !== 'number') throw new GradientError(`${nodeLabel(c.node)}: dimension ${axis} of '${name}' is not fixed ([${c.e.shape(name).join(', ')}])`);
  return d;
}

/**
 * The additive mask, broadcastable to [B, N, S, T], from a key mask
 * (raw 0/1 [B, T] or [B, S, T], or end positions [B]) and causality, or
 * undefined when nothing is masked.
 */
function additiveMask(c: LowerContext, mask: string | undefined, seq: number, past: number, causal: boolean, filter: number, type: number): string | undefined {
  const e = c.e;
  const total = past + seq;
  let add: string | undefined;
  if (mask) {
    const rank = e.rank(mask);
    let keep: string;
    if (rank === 2 || rank === 3) keep = e.op('Greater', [mask, e.op('Cast', [e.constI64([0], [])], { to: e.elemType(mask) })]);
    else if (rank === 1 && e.shape(mask)[0] === e.shape(c.x[0])[0]) {
      // end positions: key m is kept where m < end[b]
      const positions = e.op('Cast', [e.constI64([...Array(total).keys()], [1, total])], { to: e.elemType(mask) });
      keep = e.op('Less', [positions, e.unsqueeze(mask, [1])]);
    } else {
      throw new GradientError(`${nodeLabel(c.node)}: a mask of shape [${e.shape(mask).join(', ')}] is not lowered (raw [B, T] or [B, S, T], or end positions [B])`);
    }
    add = e.op('Where', [keep, e.constF([0], [], type), e.constF([filter], [], type)]);
    // [B, T] -> [B, 1, 1, T]; [B, S, T] -> [B, 1, S, T]
    add = e.unsqueeze(add, rank === 3 ? [1] : [1, 2]);
  }
  if (causal) {
    const future: number[] = [];
    for (let s = 0; s < seq; s++) for (let m = 0; m < total; m++) future.push(m > past + s ? 1 : 0);
    const isFuture = e.op('Cast', [e.constI64(future, [seq, total])], { to: DataType.BOOL });
    add = e.op('Where', [isFuture, e.constF([LOWEST], [], type), add ?? e.constF([0], [], type)]);
  }
  return add;
}

/** softmax(Q K^T scale + mask + bias) V, heads merged back: [B, S, N*hv]. */
function attend(c: LowerContext, q: string, k: string, v: string, scale: number, add: (string | undefined)[], hv: number, n: number, type: number): string {
  const e = c.e;
  let scores = e.mul(e.op('MatMul', [q, e.transpose(k, [0, 1, 3, 2])]), e.constF([scale], [], type));
  for (const a of add) if (a) scores = e.add(scores, a);
  const probs = e.op('Softmax', [scores], { axis: 3 });
  return e.reshape(e.transpose(e.op('MatMul', [probs, v]), [0, 2, 1, 3]), [0, 0, n * hv]);
}

registerLowering(
  'Attention',
  (c) => {
    const e = c.e;
    const [input, weights, bias, maskIndex, past, attentionBias, pastSeqLen] = c.x;
    if (attrInt(c.node, 'do_rotary', 0)) throw new GradientError(`${nodeLabel(c.node)}: do_rotary is not lowered`);
    if (attrInt(c.node, 'past_present_share_buffer', 0) || pastSeqLen) throw new GradientError(`${nodeLabel(c.node)}: past_present_share_buffer is not lowered`);
    const n = attrInt(c.node, 'num_heads', 0);
    const type = e.elemType(input);
    const width = dim(c, weights, 1);
    const sizes = attrInts(c.node, 'qkv_hidden_sizes') ?? [width / 3, width / 3, width / 3];
    if (!n || sizes.some((s) => s % n !== 0)) throw new GradientError(`${nodeLabel(c.node)}: hidden sizes [${sizes.join(', ')}] do not split into ${n} heads`);
    const [hq, , hv] = sizes.map((s) => s / n);
    const seq = dim(c, input, 1);
    const pastLen = past ? dim(c, past, 3) : 0;
    let qkv = e.op('MatMul', [input, weights]);
    if (bias) qkv = e.add(qkv, bias);
    const [q, k, v] = e.opset >= 13 ? e.opN('Split', [qkv, e.constI64(sizes)], 3, { axis: 2 }) : e.opN('Split', [qkv], 3, { axis: 2, split: sizes });
    let K = heads(e, k, n, hq);
    let V = heads(e, v, n, hv);
    if (past) {
      const at = (i: number) => e.op('Gather', [past, e.constI64([i], [])], { axis: 0 });
      K = e.concat([at(0), K], 2);
      V = e.concat([at(1), V], 2);
    }
    const present = c.y[1] ? e.concat([e.unsqueeze(K, [0]), e.unsqueeze(V, [0])], 0) : undefined;
    const filter = attrFloat(c.node, 'mask_filter_value', -10000);
    const mask = additiveMask(c, maskIndex || undefined, seq, pastLen, attrInt(c.node, 'unidirectional', 0) !== 0, filter, type);
    const scale = attrFloat(c.node, 'scale', 0) || 1 / Math.sqrt(hq);
    return [attend(c, heads(e, q, n, hq), K, V, scale, [mask, attentionBias || undefined], hv, n, type), present];
  },
  { domain: MS },
);

registerLowering(
  'MultiHeadAttention',
  (c) => {
    const e = c.e;
    const [query, key, value, bias, keyPaddingMask, attentionBias, pastKey, pastValue] = c.x;
    if (!key || !value || e.rank(key) !== 3 || e.rank(value) !== 3 || e.rank(query) !== 3) {
      throw new GradientError(`${nodeLabel(c.node)}: only separate 3-D query, key and value are lowered (no packed or pre-split key/value)`);
    }
    if (c.x.length > 8 && c.x.slice(8).some(Boolean)) throw new GradientError(`${nodeLabel(c.node)}: past_sequence_length / cache_indirection are not lowered`);
    const n = attrInt(c.node, 'num_heads', 0);
    const type = e.elemType(query);
    const d = dim(c, query, 2);
    const dv = dim(c, value, 2);
    const hq = d / n;
    const hv = dv / n;
    let [q, k, v] = [query, key, value];
    if (bias) {
      const part = (from: number, to: number) => e.slice(bias, [from], [to], [0]);
      q = e.add(q, part(0, d));
      k = e.add(k, part(d, 2 * d));
      v = e.add(v, part(2 * d, 2 * d + dv));
    }
    let K = heads(e, k, n, hq);
    let V = heads(e, v, n, hv);
    if (pastKey) K = e.concat([pastKey, K], 2);
    if (pastValue) V = e.concat([pastValue, V], 2);
    const seq = dim(c, query, 1);
    const pastLen = pastKey ? dim(c, pastKey, 2) : 0;
    const filter = attrFloat(c.node, 'mask_filter_value', -10000);
    const mask = additiveMask(c, keyPaddingMask || undefined, seq, pastLen, attrInt(c.node, 'unidirectional', 0) !== 0, filter, type);
    const scale = attrFloat(c.node, 'scale', 0) || 1 / Math.sqrt(hq);
    return [attend(c, heads(e, q, n, hq), K, V, scale, [mask, attentionBias || undefined], hv, n, type), c.y[1] ? K : undefined, c.y[2] ? V : undefined];
  },
  { domain: MS },
);

/**
 * ONNX Attention (opset 23): 4-D [B, heads, S, h] or 3-D [B, S, heads*h]
 * query, key and value (q_num_heads / kv_num_heads for 3-D), grouped-query
 * heads (each key/value head serves q_num_heads / kv_num_heads consecutive
 * query heads), past key and value, a boolean (true: attend) or additive
 * mask (padded with -inf / false up to the total key length), is_causal
 * (bottom-right aligned: query i sees keys up to past + i), scale, softcap
 * (applied to the scaled scores before the mask). The qk_matmul_output
 * output and nonpad_kv_seqlen (opset 24) are not lowered.
 */
registerLowering('Attention', (c) => {
  const e = c.e;
  const [Q, K0, V0, mask, pastKey, pastValue, nonpad] = c.x;
  if (nonpad) throw new GradientError(`${nodeLabel(c.node)}: nonpad_kv_seqlen is not lowered`);
  const type = e.elemType(Q);
  const rank = e.rank(Q);
  let q = Q;
  let k = K0;
  let v = V0;
  let qHeads: number;
  let kvHeads: number;
  if (rank === 3) {
    qHeads = attrInt(c.node, 'q_num_heads', 0);
    kvHeads = attrInt(c.node, 'kv_num_heads', 0);
    if (!qHeads || !kvHeads) throw new GradientError(`${nodeLabel(c.node)}: 3-D inputs need q_num_heads and kv_num_heads`);
    q = heads(e, Q, qHeads, dim(c, Q, 2) / qHeads);
    k = heads(e, K0, kvHeads, dim(c, K0, 2) / kvHeads);
    v = heads(e, V0, kvHeads, dim(c, V0, 2) / kvHeads);
  } else {
    qHeads = dim(c, Q, 1);
    kvHeads = dim(c, K0, 1);
  }
  const hq = rank === 3 ? dim(c, Q, 2) / qHeads : dim(c, Q, 3);
  const hv = rank === 3 ? dim(c, V0, 2) / kvHeads : dim(c, V0, 3);
  const seq = rank === 3 ? dim(c, Q, 1) : dim(c, Q, 2);
  const kvLen = rank === 3 ? dim(c, K0, 1) : dim(c, K0, 2);
  const past = pastKey ? dim(c, pastKey, 2) : 0;
  if (pastKey) k = e.concat([pastKey, k], 2);
  if (pastValue) v = e.concat([pastValue, v], 2);
  const presentKey = k;
  const presentValue = v;
  const total = past + kvLen;
  if (qHeads !== kvHeads) {
    if (qHeads % kvHeads) throw new GradientError(`${nodeLabel(c.node)}: ${qHeads} query heads do not share ${kvHeads} key/value heads evenly`);
    // [B, kv, T, h] -> [B, kv, reps, T, h] -> [B, q, T, h]: head j serves query heads j*reps .. (j+1)*reps - 1
    const repeat = (t: string, h: number) => e.reshape(e.concat(Array(qHeads / kvHeads).fill(e.unsqueeze(t, [2])), 2), [0, qHeads, total, h]);
    k = repeat(k, hq);
    v = repeat(v, hv);
  }
  const scale = attrFloat(c.node, 'scale', 0) || 1 / Math.sqrt(hq);
  let scores = e.mul(e.op('MatMul', [q, e.transpose(k, [0, 1, 3, 2])]), e.constF([scale], [], type));
  const softcap = attrFloat(c.node, 'softcap', 0);
  if (softcap > 0) scores = e.mul(e.op('Tanh', [e.mul(scores, e.constF([1 / softcap], [], type))]), e.constF([softcap], [], type));
  let bias: string | undefined;
  if (mask) {
    const isBool = e.elemType(mask) === DataType.BOOL;
    bias = isBool ? e.op('Where', [mask, e.constF([0], [], type), e.constF([-Infinity], [], type)]) : mask;
    const maskDims = e.shape(mask);
    const short = total - (maskDims[maskDims.length - 1] as number);
    if (short > 0) {
      const pads = Array(2 * maskDims.length).fill(0);
      pads[2 * maskDims.length - 1] = short;
      bias = e.pad(bias, pads, -Infinity);
    }
  }
  if (attrInt(c.node, 'is_causal', 0)) {
    const future: number[] = [];
    for (let s = 0; s < seq; s++) for (let m = 0; m < total; m++) future.push(m > past + s ? 1 : 0);
    const causal = e.constTensor(Float32Array.from(future, (f) => (f ? -Infinity : 0)), [seq, total], Q);
    bias = bias ? e.add(bias, causal) : causal;
  }
  if (bias) scores = e.add(scores, bias);
  let y = e.op('MatMul', [e.op('Softmax', [scores], { axis: -1 }), v]);
  if (rank === 3) y = e.reshape(e.transpose(y, [0, 2, 1, 3]), [0, 0, qHeads * hv]);
  return [y, presentKey, presentValue, undefined];
});
