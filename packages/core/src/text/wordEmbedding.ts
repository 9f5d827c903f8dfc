/**
 * Where a text model's token embedding is: the Gather that picks rows of a
 * constant float table with the token ids (through Casts, Reshapes and the
 * like, never arithmetic). Position and segment embeddings are Gathers too,
 * but their indices come from elsewhere (a Range, position_ids), so they are
 * left out of the cut and held as they are: a layer attribution there
 * attributes each token's word vector alone, as Captum's BERT tutorial does.
 */
import type { ModelProto, NodeProto } from '../onnx/types';
import { GraphIndex, normalizeDomain } from '../onnx/graph';
import { isFloatType } from '../grad/emitter';
import type { ModelSummary } from '../inspect';
import { idsInput } from './textFeeds';

/** Ops that move or retype ids without computing new ones. */
const ID_PASSTHROUGH = new Set(['Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten']);

export interface WordEmbeddingCut {
  /** The Gather's output: the tensor layer attribution cuts at. */
  output: string;
  /** The embedding table (an initializer or constant). */
  table: string;
  node: NodeProto;
}

/** Does `name` come from graph input `ids` through id-preserving ops only? */
function fromInput(index: GraphIndex, name: string, ids: string): boolean {
  for (let cur = name, hops = 0; hops < 16; hops++) {
    if (cur === ids) return true;
    const p = index.producer(cur);
    if (!p || !ID_PASSTHROUGH.has(p.node.opType ?? '') || p.node.domain) return false;
    cur = p.node.input?.[0] ?? '';
  }
  return false;
}

/**
 * The token-embedding cut of a text model whose ids come in as `ids`.
 * Throws, naming what was found instead, where there is none: a fused
 * contrib op that hides the lookup inside it (onnxruntime's
 * EmbedLayerNormalization), or no Gather on a constant table at all.
 */
export function wordEmbedding(model: ModelProto, ids: string): WordEmbeddingCut {
  const graph = model.graph ?? {};
  const index = new GraphIndex(graph);
  const found: WordEmbeddingCut[] = [];
  const fused: string[] = [];
  for (const n of graph.node ?? []) {
    const domain = normalizeDomain(n.domain);
    if (domain !== '' && fromInput(index, n.input?.[0] ?? '', ids)) fused.push(`${domain}::${n.opType} '${n.name ?? ''}'`);
    if (n.opType !== 'Gather' || domain !== '') continue;
    const table = n.input?.[0] ?? '';
    const t = index.constantValue(table) ?? index.initializers.get(table);
    if (!t || !isFloatType(t.dataType) || !fromInput(index, n.input?.[1] ?? '', ids)) continue;
    found.push({ output: n.output![0], table, node: n });
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    // a table used twice (an input and an output embedding both gathered): the first on the path is the token embedding
    return found[0];
  }
  if (fused.length) {
    throw new Error(
      `the token embedding of '${ids}' is inside ${fused.join(', ')} (a fused op that looks up and mixes the embeddings in one node), ` +
        `so no tensor holds the token vectors alone; explain it with a method that runs the model only (feature-ablation, shapley-sampling, kernel-shap, lime)`,
    );
  }
  throw new Error(`no embedding lookup of '${ids}' found: no Gather picks rows of a constant float table with those ids; give the layer to attribute at by name (--at)`);
}

/**
 * What a model looks like as a text model, for `inspect`: its token-id
 * input, its embedding cut (or why there is none), and whether its first
 * float output reads as a classifier's scores or a decoder's logits.
 * undefined for a model that does not take token ids.
 */
export function describeTextModel(model: ModelProto, summary: ModelSummary): { ids: string; embedding?: string; noEmbedding?: string; kind: 'classifier' | 'decoder' | 'other' } | undefined {
  let ids: string;
  try {
    ids = idsInput(summary);
  } catch {
    return undefined;
  }
  const declared = summary.inputs.find((i) => i.name === ids)!;
  if (!['int64', 'int32'].includes(declared.type) || declared.shape?.length !== 2) return undefined;
  const out = summary.outputs.find((o) => o.type === 'float32' || o.type === 'float16' || o.type === 'float64');
  const kind = out?.shape?.length === 3 ? 'decoder' : out?.shape?.length === 2 ? 'classifier' : 'other';
  try {
    return { ids, embedding: wordEmbedding(model, ids).output, kind };
  } catch (e) {
    return { ids, noEmbedding: (e as Error).message, kind };
  }
}
