/**
 * Static shapes for every tensor of a graph, with the batch dimension kept
 * symbolic. Gradient rules need them (which axes to sum a broadcast gradient
 * over, the padding a convolution's adjoint needs), and ONNX shape info in
 * exported models is often missing or symbolic. So, as onnxruntime's own
 * training code advises, the model is run once with every intermediate tensor
 * exposed as an output - twice in fact, at two batch sizes: a dimension that
 * changes with the batch is the batch dimension ('N'), or a multiple of it.
 */
import type { ModelProto } from '../onnx/types';
import { DataType } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
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
  int16: DataType.INT16, int8: DataType.INT8, uint8: DataType.UINT8, uint16: DataType.UINT16, bool: DataType.BOOL,
};

/** The model with every node output of the main graph also made a graph output. */
export function exposeIntermediates(model: ModelProto): ModelProto {
  const probe = cloneModel(model);
  const graph = probe.graph!;
  const have = new Set((graph.output ?? []).map((o) => o.name));
  graph.output = [...(graph.output ?? [])];
  for (const n of graph.node ?? []) {
    for (const o of n.output ?? []) {
      if (o && !have.has(o)) {
        graph.output.push({ name: o });
        have.add(o);
      }
    }
  }
  return probe;
}

/**
 * Runs the model with every intermediate exposed at batch sizes 2 and 3
 * (the sample tiled) and returns the shape and type of every tensor.
 * `sample` holds batch-1 inputs; inputs not in `batchInputs` (default: all)
 * are fed as given, at every batch size.
 */
export async function probeShapes(
  runtime: Runtime,
  model: ModelProto,
  sample: Record<string, Tensor>,
  batchInputs: string[] = Object.keys(sample),
): Promise<ShapeTable> {
  const probe = exposeIntermediates(model);
  const session = await runtime.createSession(probe);
  const runs: Record<string, Tensor>[] = [];
  try {
    for (const n of [2, 3]) {
      const feeds: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(sample)) feeds[k] = batchInputs.includes(k) ? tileBatch(v, n) : v;
      runs.push(await session.run(feeds));
    }
  } finally {
    await session.release();
  }
  const table: ShapeTable = new Map();
  const add = (name: string, a: Tensor, b: Tensor) => {
    const dims = a.dims.map((d, i): SymDim => {
      const e = b.dims[i];
      if (d === e) return d;
      // d = 2k, e = 3k for a dimension proportional to the batch
      if (d % 2 === 0 && (d / 2) * 3 === e) return d / 2 === 1 ? 'N' : `N*${d / 2}`;
      return `?${name}[${i}]`;
    });
    const entry: ValueShape = { dims, type: TYPE_CODES[a.type] ?? DataType.UNDEFINED };
    if (['int64', 'int32', 'float32', 'bool'].includes(a.type) && a.data.length <= 16 && a.data.length === b.data.length) {
      const va = Array.from(a.data as BigInt64Array, Number);
      const vb = Array.from(b.data as BigInt64Array, Number);
      if (va.every((v, i) => v === vb[i])) entry.value = va;
    }
    table.set(name, entry);
  };
  for (const name of Object.keys(runs[0])) add(name, runs[0][name], runs[1][name]);
  for (const [k, v] of Object.entries(sample)) {
    const a = batchInputs.includes(k) ? tileBatch(v, 2) : v;
    const b = batchInputs.includes(k) ? tileBatch(v, 3) : v;
    add(k, a, b);
  }
  return table;
}
