/**
 * The methods table (dispatch.ts): every row runs through explainWith and
 * gives its own method's result; what reads which option comes from the
 * table; an unknown method is refused, naming the ones there are.
 */
import { Explainer, explainWith, chooseMethod, cloneModel, GraphBuilder, DataType, makeModel, METHODS, METHOD_TABLE, METHOD_OPTIONS, MODEL_ONLY_METHODS, methodsReading, decodeModel } from '@onnx-explain/core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';
import { sample, stackRows } from '../helpers/samples';

test('the rows, and who reads which option', () => {
  expect(METHODS).toEqual(['ig', 'saliency', 'input-x-gradient', 'smoothgrad', 'gradient-shap', 'grad-cam', 'guided-backprop', 'deconvolution', 'guided-grad-cam', 'deeplift', 'deeplift-shap', 'lrp', 'occlusion', 'feature-ablation', 'feature-permutation', 'shapley-sampling', 'kernel-shap', 'lime', 'tree-shap']);
  // the methods a piecewise-constant model is sent to are the table's perturbation family
  expect(MODEL_ONLY_METHODS).toEqual(METHODS.filter((m) => METHOD_TABLE[m].family === 'perturbation'));
  for (const m of METHODS) {
    expect(METHOD_TABLE[m].label.length).toBeGreaterThan(3);
    expect(['gradient', 'perturbation', 'tree']).toContain(METHOD_TABLE[m].family);
  }
  expect(methodsReading('steps')).toEqual(['ig']);
  expect(methodsReading('samples')).toEqual(['smoothgrad', 'gradient-shap', 'shapley-sampling', 'kernel-shap', 'lime']);
  expect(methodsReading('window')).toEqual(['occlusion']);
  expect(methodsReading('background')).toEqual(['kernel-shap', 'tree-shap']);
  expect(methodsReading('treeOutput')).toEqual(['tree-shap']);
  expect(methodsReading('layer')).toEqual(['grad-cam', 'guided-grad-cam']);
  // every option a method reads has its help, and every option with help is read by some method
  for (const m of METHODS) for (const o of METHOD_TABLE[m].options) expect(METHOD_OPTIONS[o].help.length).toBeGreaterThan(10);
  for (const o of Object.keys(METHOD_OPTIONS) as (keyof typeof METHOD_OPTIONS)[]) expect(methodsReading(o).length).toBeGreaterThan(0);
});

test('every method runs through explainWith on the digits CNN and says which it was', async () => {
  const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(repoRoot, 'models/digits_cnn.onnx'))));
  try {
    const x = { image: stackRows([sample('digit_3.npy'), sample('digit_7.npy')]) };
    const layer = (ex.model.graph!.node ?? []).find((n) => n.opType === 'Conv')!.output![0];
    const seen: string[] = [];
    // (deeplift-shap takes a distribution of baseline rows, which the other methods do not: test/methods/captumModified.test.ts)
    for (const m of METHODS.filter((k) => METHOD_TABLE[k].family !== 'tree' && k !== 'deeplift-shap')) {
      const r = await explainWith(ex, x, { method: m, target: 3, steps: 8, samples: 16, layer, window: [4, 4], featureMask: 'grid:2x2' });
      seen.push(r.method);
    }
    expect(seen).toEqual(['integrated-gradients', 'saliency', 'input-x-gradient', 'noise-tunnel(saliency, smoothgrad)', 'gradient-shap', 'grad-cam', 'guided-backprop', 'deconvolution', 'guided-grad-cam', 'deeplift', 'lrp', 'occlusion', 'feature-ablation', 'feature-permutation', 'shapley-sampling', 'kernel-shap', 'lime']);
    await expect(explainWith(ex, x, { method: 'grad-cam' })).rejects.toThrow('grad-cam needs a convolution layer');
    await expect(explainWith(ex, x, { method: 'shap' as never })).rejects.toThrow("unknown method 'shap'; use one of ig, saliency, input-x-gradient, smoothgrad, gradient-shap, grad-cam, guided-backprop, deconvolution, guided-grad-cam, deeplift, deeplift-shap, lrp, occlusion, feature-ablation, feature-permutation, shapley-sampling, kernel-shap, lime, tree-shap");
    // tree-shap reads a tree ensemble, which the CNN is not
    await expect(explainWith(ex, x, { method: 'tree-shap' })).rejects.toThrow('the model has no tree-ensemble node');
    // auto on a model with a gradient is IG
    expect((await explainWith(ex, x, { method: 'auto', target: 3, steps: 4 })).method).toBe('integrated-gradients');
  } finally {
    await ex.release();
  }
});

test("'auto' picks tree-shap for a readable tree ensemble with covers or a background, kernel-shap for other models without a gradient", () => {
  const trees = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(repoRoot, 'test/fixtures/trees/gb_regressor.onnx'))));
  expect(chooseMethod(trees)).toEqual({ method: 'tree-shap', why: 'a tree ensemble: exact Shapley values from its trees' });
  // the same trees without covers: tree-shap needs a background
  const bare = cloneModel(trees.model);
  const node = bare.graph!.node![0];
  node.attribute = node.attribute!.filter((a) => a.name !== 'nodes_hitrates');
  const ex = new Explainer(runtime, bare);
  expect(chooseMethod(ex).method).toBe('kernel-shap');
  expect(chooseMethod(ex, { background: { type: 'float32', dims: [1, 5], data: new Float32Array(5) } }).method).toBe('tree-shap');
  // a tree compiled to comparisons: no tree node to read
  const g = new GraphBuilder('compiled');
  const x = g.input('x', DataType.FLOAT, ['N', 2]);
  g.output(g.op('Cast', [g.op('Less', [x, g.constant(Float32Array.from([0.5]), [])])], { to: DataType.FLOAT }, { output: 'y' }), DataType.FLOAT, ['N', 2]);
  expect(chooseMethod(new Explainer(runtime, makeModel(g.build(), { opset: 13 }))).method).toBe('kernel-shap');
});
