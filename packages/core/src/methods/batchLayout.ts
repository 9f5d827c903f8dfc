/**
 * Where each input keeps its batch. The methods build rows along axis 0 of
 * every input, but models do not all lead with the batch: a GPT-2 export's
 * past key/values are [2, batch, heads, past, head_size], and a model can
 * take an input with no batch axis at all (a second MatMul operand). Such
 * inputs get a batch-major view: the model takes them batch-first and a
 * Transpose inside puts the axis back (or, for an input without a batch
 * axis, a leading axis whose first row the model reads), and the given
 * tensors are rearranged to match before any row is built. They are held
 * fixed, never attributed. Outputs with the batch on another axis (the
 * present states) are transposed batch-first on the way out.
 *
 * The batch axis is found from the graph: the dimension symbol the inputs
 * lead with ('batch_size'), wherever an input has it; an input without it
 * has no batch axis. In a model whose inputs declare no symbols, an input
 * whose leading size differs from the first floating-point input's has none
 * (MatMul's a [3, 4] is three examples; its b [4, 3] is held fixed).
 */
import type { ModelProto, NodeProto } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { NameScope, GraphIndex } from '../onnx/graph';
import { makeNode } from '../onnx/builder';
import { makeTensor } from '../onnx/tensor';
import type { ModelSummary } from '../inspect';
import type { Tensor } from '../runtime';
import { gatherRows } from './tensors';

/** An input laid out otherwise than batch-first: its batch on another axis, or none. */
export type InputLayout = { batchAxis: number } | { batchAxis: null };

export interface BatchLayout {
  /** Inputs that are not batch-first (the rest are). */
  layouts: Record<string, InputLayout>;
  /** The dimension symbol taken as the batch, when there is one. */
  symbol?: string;
  /** In a model without symbols, the leading size of the batch-first inputs (made symbolic in the view, as it is the batch). */
  staticBatch?: number;
}

/** The batch layout of a model's inputs. */
export function batchLayout(summary: ModelSummary): BatchLayout {
  const inputs = summary.inputs;
  const leads = inputs.map((i) => i.shape?.[0]).filter((d): d is string => typeof d === 'string' && d !== '');
  const layouts: Record<string, InputLayout> = {};
  if (leads.length) {
    // the symbol most inputs lead with
    const count = new Map<string, number>();
    for (const d of leads) count.set(d, (count.get(d) ?? 0) + 1);
    const symbol = [...count.entries()].sort((a, b) => b[1] - a[1])[0][0];
    for (const i of inputs) {
      const axis = (i.shape ?? []).indexOf(symbol);
      if (axis > 0) layouts[i.name] = { batchAxis: axis };
      // without the symbol: a fixed leading size, or a scalar (an If's condition), has no batch axis
      else if (axis < 0 && i.shape && (!i.shape.length || typeof i.shape[0] === 'number')) layouts[i.name] = { batchAxis: null };
    }
    return { layouts, symbol };
  }
  const first = inputs.find((i) => i.type === 'float32' || i.type === 'float64') ?? inputs[0];
  const lead = first?.shape?.[0];
  if (typeof lead !== 'number') return { layouts };
  for (const i of inputs) {
    const d = i.shape?.[0];
    if (i !== first && typeof d === 'number' && d !== lead) layouts[i.name] = { batchAxis: null };
  }
  return Object.keys(layouts).length ? { layouts, staticBatch: lead } : { layouts };
}

/** The permutation that brings `axis` to the front. */
const toFront = (rank: number, axis: number) => [axis, ...[...Array(rank).keys()].filter((a) => a !== axis)];

/**
 * The model taking every input batch-first: an input with its batch on axis
 * k is declared batch-first and transposed back inside; an input without a
 * batch axis gets a leading one, of which the model reads row 0. The user's
 * model is not changed (a copy).
 */
export function batchMajorModel(source: ModelProto, layout: BatchLayout): ModelProto {
  const symbolAt = (dims: { dimParam?: string | null }[] | undefined | null) => (layout.symbol ? (dims ?? []).findIndex((d) => d.dimParam === layout.symbol) : -1);
  const movedOutputs = (source.graph?.output ?? []).filter((o) => symbolAt(o.type?.tensorType?.shape?.dim) > 0);
  if (!Object.keys(layout.layouts).length && !movedOutputs.length) return source;
  const model = cloneModel(source);
  const graph = model.graph!;
  const names = new NameScope(model);
  const index = new GraphIndex(graph);
  const added: NodeProto[] = [];
  const initializers = [];
  for (const input of graph.input ?? []) {
    const l = layout.layouts[input.name ?? ''];
    if (!l) continue;
    const name = input.name!;
    const inner = names.fresh(`${name}/as_declared`);
    const dims = input.type?.tensorType?.shape?.dim ?? [];
    if (l.batchAxis === null) {
      const zero = names.fresh(`${name}/row0`);
      initializers.push(makeTensor(zero, BigInt64Array.from([0n]), []));
      added.push(makeNode('Gather', [name, zero], [inner], { axis: 0 }, { name: names.fresh(`${name}/fixed`) }));
      input.type!.tensorType!.shape!.dim = [{ dimParam: layout.symbol ?? 'N' }, ...dims];
    } else {
      const perm = toFront(dims.length, l.batchAxis);
      // view axis j holds declared axis perm[j]; back: declared axis a is view axis perm.indexOf(a)
      const back = [...dims.keys()].map((a) => perm.indexOf(a));
      added.push(makeNode('Transpose', [name], [inner], { perm: back }, { name: names.fresh(`${name}/batch_major`) }));
      input.type!.tensorType!.shape!.dim = perm.map((a) => dims[a]);
    }
    // every reader of the input reads the declared layout
    for (const c of index.consumersOf(name)) {
      if (c.inputIndex >= 0) c.node.input![c.inputIndex] = inner;
    }
    graph.output = (graph.output ?? []).map((o) => (o.name === name ? { ...o, name: inner } : o));
  }
  // outputs with the batch on another axis (a decoder's present states) come out batch-first too: rows are compared and split along axis 0
  const appended: NodeProto[] = [];
  for (const out of graph.output ?? []) {
    const dims = out.type?.tensorType?.shape?.dim ?? [];
    const axis = symbolAt(dims);
    if (axis <= 0) continue;
    const name = out.name!;
    const inner = names.fresh(`${name}/as_declared`);
    for (const n of graph.node ?? []) {
      n.output = (n.output ?? []).map((o) => (o === name ? inner : o));
      n.input = (n.input ?? []).map((i) => (i === name ? inner : i));
    }
    const perm = toFront(dims.length, axis);
    appended.push(makeNode('Transpose', [inner], [name], { perm }, { name: names.fresh(`${name}/batch_major`) }));
    out.type!.tensorType!.shape!.dim = perm.map((a) => dims[a]);
  }
  // a static batch (a [3, 4] beside b [4, 3]) is the batch: symbolic, so rows can be batched
  if (layout.staticBatch !== undefined) {
    for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) {
      const d = v.type?.tensorType?.shape?.dim;
      if (!layout.layouts[v.name ?? ''] && d?.length && Number(d[0].dimValue) === layout.staticBatch) d[0] = { dimParam: 'N' };
    }
    graph.valueInfo = [];
  }
  graph.node = [...added, ...(graph.node ?? []), ...appended];
  graph.initializer = [...(graph.initializer ?? []), ...initializers];
  return model;
}

/** Transpose of a dense row-major tensor by a permutation of its axes. */
export function transposeTensor(t: Tensor, perm: number[]): Tensor {
  const dims = t.dims;
  const outDims = perm.map((p) => dims[p]);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const n = t.data.length;
  const data = new (t.data.constructor as new (k: number) => Tensor['data'])(n);
  const idx = new Array(outDims.length).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let j = 0; j < idx.length; j++) src += idx[j] * strides[perm[j]];
    (data as Float32Array)[o] = (t.data as Float32Array)[src];
    for (let j = idx.length - 1; j >= 0; j--) {
      if (++idx[j] < outDims[j]) break;
      idx[j] = 0;
    }
  }
  return { type: t.type, dims: outDims, data };
}

/** The given inputs as the batch-major model takes them, `batch` examples. */
export function batchMajorInputs(inputs: Record<string, Tensor>, layout: BatchLayout, batch: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = { ...inputs };
  for (const [name, l] of Object.entries(layout.layouts)) {
    const t = inputs[name];
    if (!t) continue;
    if (l.batchAxis === null) out[name] = gatherRows({ ...t, dims: [1, ...t.dims] }, new Array(batch).fill(0));
    else out[name] = transposeTensor(t, toFront(t.dims.length, l.batchAxis));
  }
  return out;
}

/** The batch size of each input under the layout (undefined: none). */
export function inputBatch(t: Tensor, l: InputLayout | undefined): number | undefined {
  if (!l) return t.dims[0];
  return l.batchAxis === null ? undefined : t.dims[l.batchAxis];
}
