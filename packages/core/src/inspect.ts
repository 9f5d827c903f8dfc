/**
 * A plain-data summary of a model: what `onnx-explain inspect` prints and what
 * a dashboard shows before anything runs.
 */
import type { ModelProto, ValueInfoProto } from './onnx/types';
import { toNumber } from './onnx/int64';
import { dataTypeName, elementCount, tensorDims } from './onnx/tensor';
import { typeShape, normalizeDomain, type Dim } from './onnx/graph';
import { forEachGraphIn } from './onnx/walk';
import { attrInts, attrStrings } from './onnx/attributes';
import { TREE_ENSEMBLE_OPS } from './trees/readForest';

export interface TensorSummary {
  name: string;
  /** 'float32', 'int64', ... or a description for non-tensor types ('sequence', 'map'). */
  type: string;
  shape?: Dim[];
  /**
   * For an input a tree ensemble (ai.onnx.ml) reads directly: the features
   * its trees split on need a last axis at least this wide. Declared shapes
   * often leave it open ([?, ?]); onnxruntime then fails inside the kernel.
   */
  minFeatures?: number;
}


/** The widest feature index + 1 each graph input's tree-ensemble readers split on. */
function treeFeatureWidths(model: ModelProto): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of model.graph?.node ?? []) {
    if (normalizeDomain(n.domain) !== 'ai.onnx.ml' || !TREE_ENSEMBLE_OPS.includes(n.opType ?? '')) continue;
    const ids = attrInts(n, 'nodes_featureids') ?? [];
    // TreeEnsemble (opset 5) keeps its leaves apart: every node is a branch
    const modes = n.opType === 'TreeEnsemble' ? undefined : attrStrings(n, 'nodes_modes');
    let width = 0;
    // leaves carry a feature id too (0 by convention): only branches read one
    ids.forEach((f, i) => {
      if (!modes || modes[i] !== 'LEAF') width = Math.max(width, f + 1);
    });
    const x = n.input?.[0];
    if (x && width) out.set(x, Math.max(out.get(x) ?? 0, width));
  }
  return out;
}

export interface ModelSummary {
  irVersion: number;
  producer: string;
  /** The model's doc_string, if any. */
  description?: string;
  /** The model's metadata_props (key and value, as written by the exporter). */
  metadata: { key: string; value: string }[];
  opsets: { domain: string; version: number }[];
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** Op types of the main graph and nested subgraphs, keyed 'Conv' or 'domain::Op', with counts. */
  opCounts: Record<string, number>;
  nodeCount: number;
  parameterCount: number;
  functions: string[];
}

function describeValue(v: ValueInfoProto): TensorSummary {
  const t = v.type;
  let type = 'unknown';
  if (t?.tensorType) type = dataTypeName(t.tensorType.elemType);
  else if (t?.sequenceType) type = 'sequence';
  else if (t?.mapType) type = 'map';
  else if (t?.optionalType) type = 'optional';
  else if (t?.sparseTensorType) type = `sparse ${dataTypeName(t.sparseTensorType.elemType)}`;
  return { name: v.name ?? '', type, shape: typeShape(t) };
}

export function summarizeModel(model: ModelProto): ModelSummary {
  const graph = model.graph ?? {};
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const treeWidths = treeFeatureWidths(model);
  const opCounts: Record<string, number> = {};
  let nodeCount = 0;
  forEachGraphIn(graph, (g) => {
    for (const n of g.node ?? []) {
      const key = normalizeDomain(n.domain) ? `${n.domain}::${n.opType}` : (n.opType ?? '?');
      opCounts[key] = (opCounts[key] ?? 0) + 1;
      nodeCount++;
    }
  });
  let parameterCount = 0;
  for (const t of graph.initializer ?? []) parameterCount += elementCount(tensorDims(t));
  return {
    irVersion: toNumber(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    description: model.docString || undefined,
    metadata: (model.metadataProps ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })),
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: o.domain || 'ai.onnx', version: toNumber(o.version) })),
    inputs: (graph.input ?? []).filter((v) => !initNames.has(v.name)).map((v) => {
      const d = describeValue(v);
      const width = treeWidths.get(d.name);
      return width ? { ...d, minFeatures: width } : d;
    }),
    outputs: (graph.output ?? []).map(describeValue),
    opCounts,
    nodeCount,
    parameterCount,
    functions: (model.functions ?? []).map((f) => `${f.domain ?? ''}::${f.name ?? ''}`),
  };
}

/** Element types an attribution can explain: float32, float16, float64, bfloat16. */
const FLOAT_OUTPUT_TYPES = new Set([1, 10, 11, 16]);

/**
 * The output an explanation is about: the one asked for, or by default the
 * first floating-point output (classifiers exported by skl2onnx or
 * onnxmltools put an int64 label first and the probabilities second), else
 * the first output whose type the model does not declare. One rule for
 * `inspect`, the gradient coverage and every method.
 */
export function explainedOutput(model: ModelProto, requested?: string): string {
  const outputs = model.graph?.output ?? [];
  const names = outputs.map((o) => `'${o.name}'`).join(', ');
  if (requested !== undefined) {
    if (!outputs.some((o) => o.name === requested)) throw new Error(`the model has no output '${requested}'; its outputs are ${names}`);
    return requested;
  }
  const float = outputs.find((o) => o.type?.tensorType && FLOAT_OUTPUT_TYPES.has(o.type.tensorType.elemType ?? 0));
  const untyped = outputs.find((o) => !o.type?.tensorType?.elemType);
  const chosen = float ?? untyped;
  if (!chosen) throw new Error(`the model has no floating-point output to explain; its outputs are ${outputs.map((o) => `'${o.name}' (${describeValue(o).type})`).join(', ')}`);
  return chosen.name!;
}
