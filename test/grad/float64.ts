/**
 * A float64 copy of a float32 model, for finite-difference oracles whose own
 * error is far below float32's: every float input, output, value info,
 * initializer, Constant and Cast target becomes double. The weights keep
 * their float32 values exactly (a float32 is a double), so the copy computes
 * the same function as the original, in double precision.
 *
 * Only what an op's spec types as T (the data type) is converted. Inputs that
 * the spec types as tensor(float) whatever the data type stay float32:
 * Resize's scales (opset 10: input 1; opset 11+: input 2) and roi (opset 11+:
 * input 1, T2, independent of X's type), and Upsample-9's scales. An
 * initializer read only there is left as it is; anything else feeding such a
 * slot (a Constant, a computed or shared tensor) gets a Cast to float.
 */
import { DataType, cloneModel, forEachGraphIn, makeTensor, tensorToArray, opsetVersion, type ModelProto, type TensorProto, type TypeProto, type NodeProto } from '@onnx-explain/core';

/** Input positions that stay tensor(float) in a double model, by op type (and opset). */
export function floatOnlyInputs(node: NodeProto, opset: number): number[] {
  if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') return [];
  if (node.opType === 'Resize') return opset >= 11 ? [1, 2] : [1];
  if (node.opType === 'Upsample') return opset >= 9 ? [1] : [];
  return [];
}

function toDouble(t: TensorProto): TensorProto {
  if (t.dataType !== DataType.FLOAT) return t;
  return makeTensor(t.name ?? '', Float64Array.from(tensorToArray(t) as Float32Array), (t.dims ?? []).map(Number), DataType.DOUBLE);
}

function retype(type: TypeProto | undefined): void {
  if (type?.tensorType?.elemType === DataType.FLOAT) type.tensorType.elemType = DataType.DOUBLE;
}

export function float64Copy(model: ModelProto): ModelProto {
  const m = cloneModel(model);
  const opset = opsetVersion(m) ?? 1;
  forEachGraphIn(m.graph!, (g) => {
    // which tensors are read in float-only slots, and which elsewhere
    const floatSlot = new Set<string>();
    const elsewhere = new Set<string>();
    for (const n of g.node ?? []) {
      const fixed = floatOnlyInputs(n, opset);
      (n.input ?? []).forEach((name, i) => {
        if (!name) return;
        (fixed.includes(i) ? floatSlot : elsewhere).add(name);
      });
    }
    for (const o of g.output ?? []) elsewhere.add(o.name ?? '');
    const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    const keepFloat = new Set([...floatSlot].filter((name) => initNames.has(name) && !elsewhere.has(name)));

    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) if (!keepFloat.has(v.name ?? '')) retype(v.type);
    g.initializer = (g.initializer ?? []).map((t) => (keepFloat.has(t.name ?? '') ? t : toDouble(t)));
    const nodes: NodeProto[] = [];
    let casts = 0;
    for (const n of g.node ?? []) {
      // a float-only slot fed by anything that is now double: cast it back
      const fixed = floatOnlyInputs(n, opset);
      n.input = (n.input ?? []).map((name, i) => {
        if (!name || !fixed.includes(i) || keepFloat.has(name)) return name;
        const out = `${name}__as_float_${casts++}`;
        nodes.push({ opType: 'Cast', input: [name], output: [out], name: `${out}_cast`, attribute: [{ name: 'to', type: 2, i: DataType.FLOAT }] });
        return out;
      });
      for (const a of n.attribute ?? []) {
        if (a.t) a.t = toDouble(a.t);
        if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT) a.i = DataType.DOUBLE;
        if (n.opType === 'Constant' && (a.name === 'value_float' || a.name === 'value_floats')) {
          const scalar = a.name === 'value_float';
          const vals = scalar ? [a.f!] : a.floats!;
          a.name = 'value';
          a.type = 4; // TENSOR
          // FLOAT attributes are float32 in the proto (an in-memory one may hold an unrounded double)
          a.t = makeTensor('', Float64Array.from(vals, Math.fround), scalar ? [] : [vals.length], DataType.DOUBLE);
          delete a.f;
          delete a.floats;
        }
      }
      nodes.push(n);
    }
    g.node = nodes;
  });
  return m;
}
