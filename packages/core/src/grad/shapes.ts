/**
 * Static shapes for every tensor of a graph, with the batch dimension kept
 * symbolic. Gradient rules need them (which axes to sum a broadcast gradient
 * over, the padding a convolution's adjoint needs), and ONNX shape info in
 * exported models is often missing or symbolic. So, as onnxruntime's own
 * training code advises, the model is run with what it computes exposed as
 * outputs - at two batch sizes: a dimension that changes with the batch is
 * the batch dimension ('N'), or a multiple of it.
 */
import type { ModelProto, NodeProto, TensorProto } from '../onnx/types';
import { DataType } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { makeNode, makeValueInfo } from '../onnx/builder';
import { toIndexNumber } from '../onnx/int64';
import { makeTensor } from '../onnx/tensor';
import { NameScope, opsetVersion, promoteIr3Initializers } from '../onnx/graph';
import { tileBatch, type Runtime, type Tensor } from '../runtime';

/** A dimension: a number, 'N' (the batch size), or 'N*k' (a multiple of it). */
export type SymDim = number | string;

export interface ValueShape {
  dims: SymDim[];
  /** ONNX element type (DataType code). */
  type: number;
  /**
   * The values of a small tensor (at most 16 int or float elements) that came
   * out the same at both batch sizes: shapes, slice bounds, axes and resize
   * scales that exporters compute with Shape ops. Rules read them as
   * constants.
   */
  value?: number[];
}

export type ShapeTable = Map<string, ValueShape>;

const TYPE_CODES: Record<string, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, int64: DataType.INT64, int32: DataType.INT32,
  int16: DataType.INT16, int8: DataType.INT8, uint8: DataType.UINT8, uint16: DataType.UINT16, bool: DataType.BOOL, float16: DataType.FLOAT16,
};

/** The model with every node output of the main graph (or only those in `only`) also made a graph output. */
export function exposeIntermediates(model: ModelProto, only?: Set<string>): ModelProto {
  const probe = cloneModel(model);
  const graph = probe.graph!;
  const have = new Set((graph.output ?? []).map((o) => o.name));
  graph.output = [...(graph.output ?? [])];
  for (const n of graph.node ?? []) {
    for (const o of n.output ?? []) {
      if (o && !have.has(o) && (!only || only.has(o))) {
        graph.output.push({ name: o });
        have.add(o);
      }
    }
  }
  return probe;
}

/** Rank-1 int64 initializer. */
const i64 = (name: string, values: number[]): TensorProto => makeTensor(name, BigInt64Array.from(values.map(BigInt)), [values.length]);

/** Ops whose outputs may be sequences or optionals, which Shape and Reshape do not take. */
const NON_TENSOR_OPS = /^(Sequence|SplitToSequence|ConcatFromSequence|Optional)/;

/** Ops whose outputs are computed from shapes alone. */
const SHAPE_SOURCES = new Set(['Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range']);

const tensorSize = (t: TensorProto) => (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);

/** Most elements of a tensor the probe reads as a value (shapes, bounds, axes, scales). */
const VALUE_LIMIT = 16;

/**
 * The model with, for every node output of the main graph, its shape
 * (Shape) and its first VALUE_LIMIT elements (flattened and sliced) as extra
 * outputs: enough for dims, element type and small values. Exposing the
 * activations themselves kept every one alive to the end of the run, three
 * times the forward pass's peak memory on MobileNetV2. Extra consumers alone
 * do the same, as onnxruntime runs leaf nodes last; so each tensor's
 * consumers read it through an Expand to its own shape, made to depend on
 * both probes (plus 0 times the head's size), which runs the probes before
 * them and lets the activation go about as early as in the plain model (an
 * Expand, not a Reshape: onnxruntime's fusion of consecutive Reshapes fails
 * on one whose shape is computed). Undefined where these ops cannot apply
 * (opsets before 8; sequence-valued outputs).
 */
export function exposeShapes(model: ModelProto): { probe: ModelProto; probes: Map<string, { shape: string; head: string }>; zeroInput: string } | undefined {
  const opset = opsetVersion(model, '') ?? 0;
  const graph = model.graph!;
  if (opset < 8 || (graph.node ?? []).some((n) => NON_TENSOR_OPS.test(n.opType ?? '') && !(n.domain ?? ''))) return undefined;
  const names = new NameScope(model);
  const flat = names.fresh('probe/flat');
  const zero = names.fresh('probe/zero');
  const limit = names.fresh('probe/limit');
  const nothing = names.fresh('probe/nothing');
  const nodes: NodeProto[] = [];
  const probes = new Map<string, { shape: string; head: string }>();
  const gated = new Map<string, string>();
  const outputs = [];
  // Tensors computed from shapes and small constants alone are small (and
  // onnxruntime's shape-subgraph fusions do not expect a gate there): those
  // are probed, not gated.
  const small = new Set((graph.initializer ?? []).filter((t) => tensorSize(t) <= VALUE_LIMIT).map((t) => t.name ?? ''));
  for (const original of graph.node ?? []) {
    // consumers read the gated copies (outer-scope reads by subgraphs keep the original)
    nodes.push({ ...original, input: (original.input ?? []).map((i) => gated.get(i) ?? i) });
    const fromShapes = SHAPE_SOURCES.has(original.opType ?? '') || (original.input ?? []).every((i) => !i || small.has(i));
    for (const o of original.output ?? []) {
      if (!o || probes.has(o)) continue;
      if (fromShapes) small.add(o);
      const fresh = (what: string) => names.fresh(`probe/${what}/${o}`);
      const [shape, flattened, head, size, none, same, through] = ['shape', 'flat', 'head', 'size', 'none', 'same', 'through'].map(fresh);
      nodes.push(
        makeNode('Shape', [o], [shape]),
        makeNode('Reshape', [o, flat], [flattened]),
        opset >= 10
          ? makeNode('Slice', [flattened, zero, limit], [head])
          : makeNode('Slice', [flattened], [head], { starts: [0], ends: [VALUE_LIMIT], axes: [0] }),
      );
      probes.set(o, { shape, head });
      outputs.push({ name: shape }, { name: head });
      if (fromShapes) continue;
      nodes.push(
        makeNode('Size', [head], [size]),
        makeNode('Mul', [size, nothing], [none]),
        makeNode('Add', [shape, none], [same]),
        makeNode('Expand', [o, same], [through]),
      );
      gated.set(o, through);
    }
  }
  // a shallow copy: the user's model and its weights are shared, not copied
  const probe: ModelProto = {
    ...model,
    graph: {
      ...graph,
      node: nodes,
      initializer: [
        ...(graph.initializer ?? []),
        i64(flat, [-1]),
        ...(opset >= 10 ? [i64(zero, [0]), i64(limit, [VALUE_LIMIT])] : []),
      ],
      // the gate's zero is fed at run time: as a constant, onnxruntime folds
      // the gate of a static-shaped tensor and its Reshape fusion then trips
      // over the folded name
      input: [...(graph.input ?? []), makeValueInfo(nothing, DataType.INT64, [])],
      output: [...(graph.output ?? []), ...outputs],
    },
  };
  // IR 3 wants every initializer listed as an input too; as IR 4 they need not be
  promoteIr3Initializers(probe);
  return { probe, probes, zeroInput: nothing };
}

/**
 * Runs the model at batch sizes 2 and 3 (the sample tiled) and returns the
 * shape and type of every tensor. `sample` holds batch-1 inputs; inputs not
 * in `batchInputs` (default: all) are fed as given, at every batch size.
 */
export async function probeShapes(
  runtime: Runtime,
  model: ModelProto,
  sample: Record<string, Tensor>,
  batchInputs: string[] = Object.keys(sample),
): Promise<ShapeTable> {
  return (await probeModel(runtime, model, sample, batchInputs)).shapes;
}

/**
 * probeShapes, also returning the model's own outputs at batch size 2 (the
 * sample tiled). With `only`, just those tensors are probed, by exposing
 * them whole: for the few small tensors a lowering adds to a graph whose
 * other shapes are known (exposeShapes' gates make onnxruntime's session
 * set-up superlinear: 9 s for an unrolled LSTM of 1,600 nodes, against 0.1 s).
 */
export async function probeModel(
  runtime: Runtime,
  model: ModelProto,
  sample: Record<string, Tensor>,
  batchInputs: string[] = Object.keys(sample),
  only?: Set<string>,
): Promise<{ shapes: ShapeTable; outputs: Record<string, Tensor> }> {
  const exposed = only ? undefined : exposeShapes(model);
  const session = await runtime.createSession(exposed?.probe ?? exposeIntermediates(model, only));
  const runs: Record<string, Tensor>[] = [];
  try {
    for (const n of [2, 3]) {
      const feeds: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(sample)) feeds[k] = batchInputs.includes(k) ? tileBatch(v, n) : v;
      if (exposed) feeds[exposed.zeroInput] = { type: 'int64', dims: [], data: BigInt64Array.from([0n]) };
      runs.push(await session.run(feeds));
    }
  } finally {
    await session.release();
  }
  const table: ShapeTable = new Map();
  const add = (name: string, a: Probed, b: Probed) => {
    const dims = a.dims.map((d, i): SymDim => {
      const e = b.dims[i];
      if (d === e) return d;
      // d = 2k, e = 3k for a dimension proportional to the batch
      if (d % 2 === 0 && (d / 2) * 3 === e) return d / 2 === 1 ? 'N' : `N*${d / 2}`;
      return `?${name}[${i}]`;
    });
    const entry: ValueShape = { dims, type: TYPE_CODES[a.type] ?? DataType.UNDEFINED };
    const size = (p: Probed) => p.dims.reduce((x, y) => x * y, 1);
    if (['int64', 'int32', 'float32', 'bool'].includes(a.type) && size(a) <= VALUE_LIMIT && size(a) === size(b)) {
      const num = (v: number | bigint | boolean) => (typeof v === 'bigint' ? toIndexNumber(v) : Number(v));
      const va = Array.from(a.head as ArrayLike<number | bigint>, num);
      const vb = Array.from(b.head as ArrayLike<number | bigint>, num);
      if (va.every((v, i) => v === vb[i])) entry.value = va;
    }
    table.set(name, entry);
  };
  const probed = (run: Record<string, Tensor>, name: string): Probed => {
    if (!exposed) return { dims: run[name].dims, type: run[name].type, head: run[name].data };
    const { shape, head } = exposed.probes.get(name)!;
    return { dims: Array.from(run[shape].data as BigInt64Array, Number), type: run[head].type, head: run[head].data };
  };
  const names = exposed ? [...exposed.probes.keys()] : Object.keys(runs[0]).filter((n) => !only || only.has(n));
  for (const name of names) add(name, probed(runs[0], name), probed(runs[1], name));
  const whole = (t: Tensor): Probed => ({ dims: t.dims, type: t.type, head: t.data });
  for (const [k, v] of Object.entries(sample)) {
    const a = batchInputs.includes(k) ? tileBatch(v, 2) : v;
    const b = batchInputs.includes(k) ? tileBatch(v, 3) : v;
    add(k, whole(a), whole(b));
  }
  const outputs: Record<string, Tensor> = {};
  for (const o of model.graph?.output ?? []) if (runs[0][o.name!]) outputs[o.name!] = runs[0][o.name!];
  return { shapes: table, outputs };
}

/** What the probe learns of one tensor at one batch size: its dims, type and first elements. */
interface Probed {
  dims: readonly number[];
  type: Tensor['type'];
  head: Tensor['data'];
}
