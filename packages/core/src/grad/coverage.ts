/**
 * Which ops of a model the gradient graph can differentiate, and whether the
 * model as a whole can be differentiated by graph or needs finite
 * differences (and because of which ops). Decided from the graph alone,
 * before anything runs: a tensor is taken to be floating point unless the
 * model's type information says otherwise.
 */
import { TREE_ENSEMBLE_OPS } from '../trees/readForest';
import type { ModelProto } from '../onnx/types';
import { GraphIndex, opsetVersion, normalizeDomain, nodeDependencies } from '../onnx/graph';
import { isFloatType } from './emitter';
import { explainedOutput } from '../inspect';
import { differentiablePaths, notDifferentiated, ruleFor } from './paths';
import { lowersNode } from './lower/registry';
import './rules';

export type OpStatus = 'rule' | 'lowered' | 'not differentiated' | 'missing';

export interface OpCoverage {
  opType: string;
  domain: string;
  count: number;
  /**
   * 'rule': a gradient rule covers it; 'lowered': no rule, but it is rewritten
   * into ops that have one before differentiation (checked against the model
   * when it runs); 'not differentiated': its outputs are shapes, indices or
   * booleans; 'missing': neither rule nor lowering
   */
  status: OpStatus;
  /** How many of its nodes lie on a differentiable path from the inputs to the output. */
  onPath: number;
}

export interface CoverageReport {
  opset: number;
  output: string;
  wrt: string[];
  ops: OpCoverage[];
  verdict: 'graph' | 'finite-differences';
  /** Ops without a rule that lie on a differentiable path, with their node names. */
  blocking: { opType: string; domain: string; nodes: string[] }[];
  /** Ops on the path that are lowered to standard ops before differentiation, with their node names. */
  lowered: { opType: string; domain: string; nodes: string[] }[];
  /** Why the verdict is finite differences when no op is to blame. */
  note?: string;
  /**
   * Ops between the attributed tensors and the output whose result is
   * piecewise constant in them (tree ensembles): there the gradient is zero
   * almost everywhere, and neither graph gradients nor finite differences
   * explain the model.
   */
  piecewiseConstant: { opType: string; domain: string; nodes: string[] }[];
}

/** Ops piecewise constant in their float inputs: a tree ensemble's output moves only when an input crosses a threshold. */
const PIECEWISE_CONSTANT = new Set(['ai.onnx.ml::TreeEnsembleClassifier', 'ai.onnx.ml::TreeEnsembleRegressor', 'ai.onnx.ml::TreeEnsemble']);

/**
 * Outputs of embedding lookups: Gather nodes that pick rows of a constant
 * float table with indices computed from the inputs. Layer attribution of a
 * text model happens here.
 */
export function embeddingOutputs(model: ModelProto): string[] {
  const index = new GraphIndex(model.graph ?? {});
  return (model.graph?.node ?? []).flatMap((n) => {
    // onnxruntime's fused EmbedLayerNormalization: its embedding sum (output 2), when the model exposes it
    if (n.opType === 'EmbedLayerNormalization' && normalizeDomain(n.domain) === 'com.microsoft') return n.output?.[2] ? [n.output[2]] : [];
    if (n.opType !== 'Gather' || n.domain) return [];
    const table = index.constantValue(n.input?.[0] ?? '') ?? index.initializers.get(n.input?.[0] ?? '');
    return table && isFloatType(table.dataType) && !index.isConstant(n.input?.[1] ?? '') ? [n.output![0]] : [];
  });
}

export function gradientCoverage(model: ModelProto, opts: { output?: string; wrt?: string[] } = {}): CoverageReport {
  const graph = model.graph ?? {};
  const opset = opsetVersion(model, '') ?? 0;
  const index = new GraphIndex(graph);
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const floatInputs = (graph.input ?? [])
    .filter((i) => !inits.has(i.name) && (i.type?.tensorType?.elemType === undefined || isFloatType(i.type.tensorType.elemType)))
    .map((i) => i.name!);
  // a model fed only integers (token ids) is differentiated at its embedding lookups
  const wrt = opts.wrt ?? (floatInputs.length ? floatInputs : embeddingOutputs(model));
  // a model with no float output (a classifier exporting labels and a ZipMap) is reported, not refused
  let output = '';
  let noOutput: string | undefined;
  try {
    output = explainedOutput(model, opts.output);
  } catch (e) {
    if (opts.output !== undefined) throw e;
    noOutput = (e as Error).message;
  }
  // the analysis the builder differentiates by; a tensor is taken to be floating point unless the model says otherwise
  const paths = differentiablePaths(graph, { output, wrt, opset, typeOf: (name) => index.elemType(name), index });
  const { depends } = paths;
  const ops = new Map<string, OpCoverage>();
  const blocking = new Map<string, { opType: string; domain: string; nodes: string[] }>();
  const lowered = new Map<string, { opType: string; domain: string; nodes: string[] }>();
  for (const node of paths.order) {
    const domain = normalizeDomain(node.domain);
    const key = `${domain}::${node.opType}`;
    const status: OpStatus =
      notDifferentiated(node)
        ? 'not differentiated'
        : ruleFor(node, opset)
          ? 'rule'
          : lowersNode(node, index)
            ? 'lowered'
            : 'missing';
    const entry = ops.get(key) ?? { opType: node.opType ?? '', domain, count: 0, status, onPath: 0 };
    entry.count++;
    if (paths.onPath(node)) {
      entry.onPath++;
      const list = status === 'missing' ? blocking : status === 'lowered' ? lowered : undefined;
      if (list) {
        const b = list.get(key) ?? { opType: node.opType ?? '', domain, nodes: [] };
        b.nodes.push(node.name || node.output?.[0] || '');
        list.set(key, b);
      }
    }
    ops.set(key, entry);
  }
  // piecewise-constant ops between wrt and the output, by plain data dependence (their outputs are not differentiable at all)
  const reads = new Set(wrt);
  for (const node of paths.order) if (nodeDependencies(node).some((d) => reads.has(d))) for (const o of node.output ?? []) if (o) reads.add(o);
  const piecewise = new Map<string, { opType: string; domain: string; nodes: string[] }>();
  for (const node of paths.order) {
    const domain = normalizeDomain(node.domain);
    const key = `${domain}::${node.opType}`;
    if (!PIECEWISE_CONSTANT.has(key) || !nodeDependencies(node).some((d) => reads.has(d)) || !(node.output ?? []).some((o) => paths.affects.has(o))) continue;
    const b = piecewise.get(key) ?? { opType: node.opType ?? '', domain, nodes: [] };
    b.nodes.push(node.name || node.output?.[0] || '');
    piecewise.set(key, b);
  }
  const reached = depends.has(output);
  // an output that reads the inputs, but only through comparisons, indices or casts to integers (a tree compiled
  // to tensor ops), is piecewise constant in them too: the ops that cut every differentiable path are named
  if (!reached && !piecewise.size && reads.has(output)) {
    for (const node of paths.order) {
      const domain = normalizeDomain(node.domain);
      const key = `${domain}::${node.opType}`;
      const readsInput = nodeDependencies(node).some((d) => depends.has(d));
      const cuts = (node.output ?? []).some((o) => o && reads.has(o) && !depends.has(o) && paths.affects.has(o));
      // Shape and Size read the input's shape, not its values
      if (!readsInput || !cuts || (!domain && (node.opType === 'Shape' || node.opType === 'Size'))) continue;
      const b = piecewise.get(key) ?? { opType: node.opType ?? '', domain, nodes: [] };
      b.nodes.push(node.name || node.output?.[0] || '');
      piecewise.set(key, b);
    }
  }
  return {
    opset,
    output,
    wrt,
    ops: [...ops.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
    verdict: blocking.size || !reached ? 'finite-differences' : 'graph',
    blocking: [...blocking.values()],
    lowered: [...lowered.values()],
    piecewiseConstant: [...piecewise.values()],
    ...(noOutput ? { note: noOutput } : reached ? {} : { note: `output '${output}' is not reached from ${wrt.length ? wrt.map((w) => `'${w}'`).join(', ') : 'any float input'} along differentiable ops` }),
  };
}

/** 'LSTM (LSTM_9, LSTM_20); com.microsoft::Attention (...)': ops with their first three nodes. */
export function describeOps(ops: CoverageReport['blocking']): string {
  return ops.map((b) => `${b.domain ? `${b.domain}::` : ''}${b.opType} (${b.nodes.slice(0, 3).join(', ')}${b.nodes.length > 3 ? ', ...' : ''})`).join('; ');
}

/**
 * Why a model needs finite differences, in one line, or undefined when it
 * can be differentiated by graph: the one reason `inspect` prints and the
 * engine gives when it falls back.
 */
/**
 * Why no gradient method explains the model, in one line, or undefined: its
 * output depends on the attributed tensors through a piecewise-constant op.
 */
/**
 * The methods that explain a model with no usable gradient, as the front ends
 * name them (the perturbation family of methods/dispatch.ts's table, which a
 * test holds this list to; grad/ sits below the methods and cannot read it).
 */
export const MODEL_ONLY_METHODS = ['occlusion', 'feature-ablation', 'feature-permutation', 'shapley-sampling', 'kernel-shap', 'lime'];

export function piecewiseConstantReason(r: CoverageReport): string | undefined {
  if (!r.piecewiseConstant.length) return undefined;
  return (
    `output '${r.output}' depends on ${r.wrt.map((w) => `'${w}'`).join(', ')} only through ${describeOps(r.piecewiseConstant)}, which ${r.piecewiseConstant.length > 1 || r.piecewiseConstant[0].nodes.length > 1 ? 'are' : 'is'} piecewise constant: ` +
    `the output's gradient is zero almost everywhere, so neither graph gradients nor finite differences explain it; ` +
    (r.piecewiseConstant.some((o) => o.domain === 'ai.onnx.ml' && TREE_ENSEMBLE_OPS.includes(o.opType)) ? 'explain it with tree-shap (exact, read from the trees) or ' : 'explain it with ') +
    `a method that only runs the model: ${MODEL_ONLY_METHODS.join(', ')}`
  );
}

export function finiteDifferenceReason(r: CoverageReport): string | undefined {
  if (r.verdict === 'graph') return undefined;
  if (r.blocking.length) return `no gradient rule or lowering for ${describeOps(r.blocking)}`;
  return r.note;
}
