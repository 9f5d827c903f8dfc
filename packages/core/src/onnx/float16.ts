/**
 * A float16 copy of a float32 model, as deployments make one (keep the
 * model's own input and output types, compute inside in float16): float32
 * initializers and Constant values become float16, Casts to float become
 * Casts to float16, a Cast to float16 follows each float input and a Cast
 * back to float precedes each float output. Inputs that must stay float32
 * by the spec (Resize's and Upsample's scales) are kept. The model given is
 * not changed.
 */
import type { ModelProto, TensorProto, AttributeProto } from './types';
import { DataType } from './types';
import { cloneModel } from './codec';
import { tensorToArray, tensorDims } from './tensor';
import { NameScope } from './graph';
import { makeNode } from './builder';

/** The IEEE binary16 bits of a number, rounded to nearest even (overflow to infinity, NaN kept). */
export function toHalfBits(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = mant >>> 13;
  const rest = mant & 0x1fff;
  let out = (e << 10) | half;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) out++;
  return sign | out;
}

/** The number a binary16 bit pattern stands for. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function halfTensor(t: TensorProto): TensorProto {
  const v = tensorToArray(t) as Float32Array;
  const bits = Uint16Array.from(v, toHalfBits);
  return { name: t.name, dims: tensorDims(t), dataType: DataType.FLOAT16, rawData: new Uint8Array(bits.buffer) };
}

/** Inputs (op, index) the spec types as float32 whatever the data type. */
const FLOAT32_ONLY: Record<string, number[]> = { Resize: [1, 2], Upsample: [1] };

export function toFloat16(model: ModelProto): ModelProto {
  const out = cloneModel(model);
  const g = out.graph!;
  const keep = new Set<string>();
  for (const n of g.node ?? []) for (const i of FLOAT32_ONLY[n.opType ?? ''] ?? []) if (n.input?.[i]) keep.add(n.input[i]);
  g.initializer = (g.initializer ?? []).map((t) => (t.dataType === DataType.FLOAT && !keep.has(t.name!) ? halfTensor(t) : t));
  const attr = (a: AttributeProto): AttributeProto => (a.t && a.t.dataType === DataType.FLOAT ? { ...a, t: halfTensor(a.t) } : a);
  for (const n of g.node ?? []) {
    if (n.opType === 'Constant' && !n.domain && !(n.output ?? []).some((o) => keep.has(o))) n.attribute = (n.attribute ?? []).map(attr);
    if (n.opType === 'ConstantOfShape' && !n.domain) n.attribute = (n.attribute ?? []).map(attr);
    if (n.opType === 'Cast' && !n.domain) n.attribute = (n.attribute ?? []).map((a) => (a.name === 'to' && Number(a.i) === DataType.FLOAT ? { ...a, i: DataType.FLOAT16 } : a));
  }
  const scope = new NameScope(out);
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const casts = [];
  // float inputs: cast to float16 once, every consumer reads the cast
  for (const i of g.input ?? []) {
    if (inits.has(i.name) || i.type?.tensorType?.elemType !== DataType.FLOAT) continue;
    const half = scope.fresh(`${i.name}_float16`);
    for (const n of g.node ?? []) n.input = (n.input ?? []).map((x) => (x === i.name ? half : x));
    casts.push(makeNode('Cast', [i.name!], [half], { to: DataType.FLOAT16 }, { name: scope.fresh(`${i.name}_to_float16`) }));
  }
  // float outputs: computed in float16 under another name, cast back into the output's own name
  const tails = [];
  for (const o of g.output ?? []) {
    if (o.type?.tensorType?.elemType !== DataType.FLOAT) continue;
    const half = scope.fresh(`${o.name}_float16`);
    for (const n of g.node ?? []) n.output = (n.output ?? []).map((x) => (x === o.name ? half : x));
    tails.push(makeNode('Cast', [half], [o.name!], { to: DataType.FLOAT }, { name: scope.fresh(`${o.name}_to_float`) }));
  }
  g.node = [...casts, ...(g.node ?? []), ...tails];
  // intermediate types are float16 now: drop the recorded float ones rather than keep them wrong
  g.valueInfo = (g.valueInfo ?? []).filter((v) => v.type?.tensorType?.elemType !== DataType.FLOAT);
  out.producerName = `${model.producerName ?? ''} (float16 copy by onnx-explain)`.trim();
  return out;
}
