/**
 * Batching the interpolation steps is where attribution gets its speed, but
 * many exported models hard-code batch 1: a fixed input dimension, a Reshape
 * to [1, 256]. This makes such a model batchable where it safely can: the
 * leading input dimension becomes symbolic, Reshape targets that pin a
 * leading 1 let it follow the batch, and the result is verified by running
 * it (batch 1 must reproduce the original, each row of a batch must equal
 * its batch-1 result). When the check fails, the model is left as it was and
 * the reason is reported, so callers run one step per session call.
 */
import type { ModelProto, TensorProto } from '../onnx/types';
import { DataType } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { GraphIndex } from '../onnx/graph';
import { makeTensor, tensorToArray, tensorDims } from '../onnx/tensor';
import { NameScope, promoteIr3Initializers } from '../onnx/graph';
import { runOnce, type Runtime, type Tensor } from '../runtime';

export interface BatchableModel {
  model: ModelProto;
  /** Whether the model now runs rows in a batch independently. */
  batchable: boolean;
  /** What was changed, in words (empty when the model was batchable as it was). */
  changes: string[];
  /** Why the model could not be made batchable. */
  reason?: string;
}

function rowsMatch(batched: Record<string, Tensor>, singles: Record<string, Tensor>[]): string | undefined {
  const n = singles.length;
  for (const [name, one] of Object.entries(singles[0])) {
    const many = batched[name];
    if (!many) return `output '${name}' is missing`;
    if (many.dims[0] !== n * one.dims[0] || many.data.length !== n * one.data.length) {
      return `output '${name}' has shape [${many.dims}] at batch ${n}, expected ${n} x [${one.dims}]`;
    }
    const a = many.data as Float32Array;
    for (let r = 0; r < n; r++) {
      const b = singles[r][name].data as Float32Array;
      for (let i = 0; i < b.length; i++) {
        const x = Number(a[r * b.length + i]);
        const y = Number(b[i]);
        if (Math.abs(x - y) > 1e-4 * Math.max(1, Math.abs(y))) return `row ${r} of output '${name}' differs from the batch-1 result`;
      }
    }
  }
  return undefined;
}

/** The sample with its float inputs scaled: rows that differ, so an op that mixes rows shows it. */
function variant(sample: Record<string, Tensor>, batchInputs: string[], factor: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sample)) {
    const float = v.type === 'float32' || v.type === 'float64';
    out[k] = float && batchInputs.includes(k) ? { ...v, data: (v.data as Float32Array).map((x) => x * factor) as Tensor['data'] } : v;
  }
  return out;
}

/**
 * Runs three different rows (the sample, and its float inputs at 0.5 and
 * 0.25 times) one at a time and then as one batch: each batch row must equal
 * its own single run. Identical rows would hide an op that mixes rows
 * (a normalisation over the batch axis, say).
 */
async function tryBatch(runtime: Runtime, model: ModelProto, sample: Record<string, Tensor>, batchInputs: string[]): Promise<string | undefined> {
  let session;
  try {
    session = await runtime.createSession(model);
    const rows = [sample, variant(sample, batchInputs, 0.5), variant(sample, batchInputs, 0.25)];
    const singles: Record<string, Tensor>[] = [];
    for (const r of rows) singles.push(await session.run(r));
    const feeds: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(sample)) feeds[k] = batchInputs.includes(k) ? stackRows(rows.map((r) => r[k])) : v;
    const batched = await session.run(feeds);
    return rowsMatch(batched, singles);
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  } finally {
    await session?.release();
  }
}

/** Rows of equal shape, one after another along the leading axis. */
function stackRows(ts: Tensor[]): Tensor {
  const per = ts[0].data.length;
  const data = new (ts[0].data.constructor as new (n: number) => Tensor['data'])(per * ts.length);
  ts.forEach((t, i) => (data as Float32Array).set(t.data as Float32Array, i * per));
  return { type: ts[0].type, dims: [ts.length * ts[0].dims[0], ...ts[0].dims.slice(1)], data };
}

export async function makeBatchable(
  runtime: Runtime,
  source: ModelProto,
  sample: Record<string, Tensor>,
  batchInputs: string[] = Object.keys(sample),
): Promise<BatchableModel> {
  const first = await tryBatch(runtime, source, sample, batchInputs);
  if (!first) return { model: source, batchable: true, changes: [] };

  const model = cloneModel(source);
  const graph = model.graph!;
  const changes: string[] = [];
  if (promoteIr3Initializers(model)) changes.push('IR 3 -> 4: initializers are no longer listed as inputs');
  for (const input of graph.input ?? []) {
    const dim0 = input.type?.tensorType?.shape?.dim?.[0];
    if (batchInputs.includes(input.name ?? '') && dim0 && Number(dim0.dimValue) === 1) {
      input.type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
      changes.push(`input '${input.name}': leading dimension 1 -> N`);
    }
  }
  for (const output of graph.output ?? []) {
    const dim0 = output.type?.tensorType?.shape?.dim?.[0];
    if (dim0 && Number(dim0.dimValue) === 1) output.type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
  }
  // stale intermediate shapes would contradict the new batch size
  if (graph.valueInfo?.length) {
    graph.valueInfo = [];
    changes.push('dropped value_info (intermediate shapes recorded for batch 1)');
  }
  const index = new GraphIndex(graph);
  const names = new NameScope(model);
  const added: TensorProto[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Reshape' || node.domain) continue;
    const shapeName = node.input?.[1] ?? '';
    const t = index.constantValue(shapeName);
    if (!t || t.dataType !== DataType.INT64) continue;
    const target = Array.from(tensorToArray(t) as BigInt64Array, Number);
    if (target[0] !== 1) continue;
    const fixed = [...target];
    fixed[0] = target.includes(-1) ? 0 : -1;
    const name = names.fresh(`${shapeName}_batched`);
    added.push(makeTensor(name, BigInt64Array.from(fixed.map(BigInt)), tensorDims(t)));
    node.input![1] = name;
    changes.push(`Reshape '${node.name || node.output?.[0]}': target [${target.join(', ')}] -> [${fixed.join(', ')}]`);
  }
  graph.initializer = [...(graph.initializer ?? []), ...added];
  const second = await tryBatch(runtime, model, sample, batchInputs);
  if (second) {
    return { model: source, batchable: false, changes: [], reason: `not batchable as exported (${first}); after rewriting: ${second}` };
  }
  // batch 1 must still compute what the original computed
  const a = await runOnce(runtime, source, sample);
  const b = await runOnce(runtime, model, sample);
  const differs = rowsMatch(b, [a]);
  if (differs) return { model: source, batchable: false, changes: [], reason: `the rewrite changed the batch-1 result: ${differs}` };
  return { model, batchable: true, changes };
}
