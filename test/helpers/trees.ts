/**
 * A one-split regression tree for the tests: y = 1 where x[feature] <= 0.5,
 * else 3 (ai.onnx.ml TreeEnsembleRegressor, opset 3), with any attribute
 * replaced, the input declared as given, and the node named as given.
 */
import { GraphBuilder, DataType, makeModel, Attr, type ModelProto } from '@onnx-explain/core';

export function stumpRegressor(opts: { feature?: number; inputDims?: (number | string)[]; name?: string; attrs?: Record<string, unknown> } = {}): ModelProto {
  const g = new GraphBuilder('stump');
  const x = g.input('x', DataType.FLOAT, opts.inputDims ?? ['N', 2]);
  const attrs: Record<string, unknown> = {
    n_targets: 1,
    nodes_treeids: [0, 0, 0], nodes_nodeids: [0, 1, 2], nodes_featureids: [opts.feature ?? 0, 0, 0],
    nodes_values: Attr.floats([0.5, 0, 0]), nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF'],
    nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [2, 0, 0],
    target_treeids: [0, 0], target_nodeids: [1, 2], target_ids: [0, 0], target_weights: Attr.floats([1, 3]),
    ...opts.attrs,
  };
  g.output(g.op('TreeEnsembleRegressor', [x], attrs as never, { domain: 'ai.onnx.ml', output: 'y', ...(opts.name ? { name: opts.name } : {}) }), DataType.FLOAT, ['N', 1]);
  return makeModel(g.build(), { opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }] });
}
