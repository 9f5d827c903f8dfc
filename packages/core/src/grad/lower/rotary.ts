/**
 * Rotary position embeddings, ONNX RotaryEmbedding (opset 23) and
 * com.microsoft RotaryEmbedding: the first rotary_embedding_dim features of
 * each head are rotated in pairs (halves, or neighbours when interleaved) by
 * the angles the cos and sin caches hold for each position; the rest pass
 * through.
 */
import { attrInt, nodeLabel } from '../../onnx/attributes';
import { GradientError, type Emitter } from '../emitter';
import { registerLowering, type LowerContext } from './registry';

interface Rotary {
  input: string;
  /** [B, S, rd/2] or [S, rd/2] angles, already picked by position */
  cos: string;
  sin: string;
  /** their rank, and rd/2 */
  rank: number;
  half: number;
}

function rotate(c: LowerContext, r: Rotary, numHeads: number): string {
  const e: Emitter = c.e;
  const dims = e.shape(r.input);
  const rank = dims.length;
  if (rank !== 3 && rank !== 4) throw new GradientError(`${nodeLabel(c.node)}: input of rank ${rank} (3 or 4 expected)`);
  const last = dims[rank - 1];
  if (typeof last !== 'number') throw new GradientError(`${nodeLabel(c.node)}: the feature size of '${r.input}' is not fixed`);
  const half = r.half;
  let heads: number;
  let head: number;
  let x: string;
  if (rank === 4) {
    heads = dims[1] as number;
    head = last;
    x = e.transpose(r.input, [0, 2, 1, 3]); // [B, S, N, h]
  } else {
    heads = numHeads || last / (2 * half);
    head = last / heads;
    if (!Number.isInteger(head)) throw new GradientError(`${nodeLabel(c.node)}: ${last} features do not split into ${heads} heads`);
    x = e.reshape(r.input, [0, 0, heads, head]);
  }
  const rd = attrInt(c.node, 'rotary_embedding_dim', 0) || head;
  if (rd !== 2 * half) throw new GradientError(`${nodeLabel(c.node)}: rotary dimension ${rd} does not match the caches' ${half} angles`);
  const rot = rd < head ? e.slice(x, [0], [rd], [3]) : x;
  const pass = rd < head ? e.slice(x, [rd], [head], [3]) : undefined;
  const interleaved = attrInt(c.node, 'interleaved', 0) === 1;
  const [x1, x2] = interleaved
    ? [e.slice(rot, [0], [rd], [3], [2]), e.slice(rot, [1], [rd], [3], [2])]
    : e.opset >= 13
      ? e.opN('Split', [rot, e.constI64([half, half])], 2, { axis: 3 })
      : e.opN('Split', [rot], 2, { axis: 3, split: [half, half] });
  // angles broadcast over the heads: [.., S, 1, rd/2]
  const cos = e.unsqueeze(r.cos, [r.rank - 1]);
  const sin = e.unsqueeze(r.sin, [r.rank - 1]);
  const real = e.sub(e.mul(cos, x1), e.mul(sin, x2));
  const imag = e.add(e.mul(sin, x1), e.mul(cos, x2));
  const rotated = interleaved
    ? e.reshape(e.concat([e.unsqueeze(real, [4]), e.unsqueeze(imag, [4])], 4), [0, 0, heads, rd])
    : e.concat([real, imag], 3);
  const y = pass ? e.concat([rotated, pass], 3) : rotated;
  return rank === 4 ? e.transpose(y, [0, 2, 1, 3]) : e.reshape(y, [0, 0, heads * head]);
}

/** Angles for each position (gathered by position ids, or the caches as given), with their rank and size. */
function angles(e: Emitter, cosCache: string, sinCache: string, positions: string | undefined, positionRank: number): Omit<Rotary, 'input'> {
  const dims = e.shape(cosCache);
  const half = dims[dims.length - 1] as number;
  if (!positions) return { cos: cosCache, sin: sinCache, rank: dims.length, half };
  const pick = (cache: string) => e.op('Gather', [cache, positions], { axis: 0 });
  return { cos: pick(cosCache), sin: pick(sinCache), rank: positionRank + 1, half };
}

registerLowering('RotaryEmbedding', (c) => {
  const [input, cosCache, sinCache, positions] = c.x;
  const e = c.e;
  const a = angles(e, cosCache, sinCache, positions || undefined, positions ? e.rank(positions) : 0);
  return [rotate(c, { input, ...a }, attrInt(c.node, 'num_heads', 0))];
});

registerLowering(
  'RotaryEmbedding',
  (c) => {
    const [input, positions, cosCache, sinCache] = c.x;
    const e = c.e;
    if (attrInt(c.node, 'is_packed_batching', 0)) throw new GradientError(`${nodeLabel(c.node)}: packed batching is not lowered`);
    let pos = positions;
    let posRank = e.rank(positions);
    if (posRank === 1) {
      // one offset: positions offset .. offset + S - 1
      const seq = e.shape(input)[e.rank(input) === 4 ? 2 : 1] as number;
      pos = e.add(e.op('Cast', [positions], { to: 7 }), e.constI64([...Array(seq).keys()], [seq]));
      posRank = 1;
    }
    return [rotate(c, { input, ...angles(e, cosCache, sinCache, pos, posRank) }, attrInt(c.node, 'num_heads', 0))];
  },
  { domain: 'com.microsoft' },
);
