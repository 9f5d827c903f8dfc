/**
 * @jest-environment ./test/helpers/jsdom-environment.js
 *
 * The dashboard's Evaluate section without a browser (jsdom): when the
 * metrics apply (attributions of the model's own float inputs, one example)
 * and why not otherwise, the feature mask the curves use, and the button's
 * state with its note as text. The browser run is in evaluateDashboard.test.ts.
 */
import type { Explainer, ExplainResult, Tensor } from '@onnx-explain/core';
import { evaluateUnavailable, curveFeatureMask, resetEvaluate, type EvaluableRun } from '../../packages/web/src/dashboard/evaluateView';

const f32 = (dims: number[]): Tensor => ({ type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });

function run(inputs: Record<string, Tensor>, attributions: Record<string, Tensor>, method = 'ig', featureMask = 'elements', outputs = [1]): EvaluableRun {
  const result = { method: method === 'ig' ? 'integrated-gradients' : method, attributions, outputs, sum: outputs } as unknown as ExplainResult;
  return { explainer: {} as Explainer, inputs, result, options: { method: method as never, featureMask } };
}

test('the metrics apply to attributions of float model inputs, and say why not for a layer, token ids or a text run', () => {
  const img = f32([1, 1, 8, 8]);
  expect(evaluateUnavailable(run({ image: img }, { image: img }), false)).toBeUndefined();
  expect(evaluateUnavailable(undefined, false)).toMatch(/Run an explanation first/);
  expect(evaluateUnavailable(run({ image: img }, { image: img }), true)).toMatch(/embedding layer/);
  expect(evaluateUnavailable(run({ ids: { type: 'int64', dims: [1, 4], data: new BigInt64Array(4) } }, { '/embedding/Gather_output_0': f32([1, 4, 8]) }), false)).toMatch(/at a layer \(\/embedding\/Gather_output_0\)/);
  expect(evaluateUnavailable(run({ ids: { type: 'int64', dims: [1, 4], data: new BigInt64Array(4) } }, { ids: f32([1, 4]) }, 'occlusion'), false)).toMatch(/ids is not float/);
  expect(evaluateUnavailable(run({ image: f32([2, 1, 8, 8]) }, { image: f32([2, 1, 8, 8]) }, 'ig', 'elements', [1, 2]), false)).toMatch(/one example/);
});

test("the curves use the run's feature mask when its method read one, elements else, a grid for a large image", () => {
  const small = f32([1, 1, 8, 8]);
  const large = f32([1, 3, 64, 64]);
  expect(curveFeatureMask(run({ image: small }, { image: small }))).toBe('elements');
  // IG reads no feature mask: the form's field is not the run's
  expect(curveFeatureMask(run({ image: small }, { image: small }, 'ig', 'grid:2x2'))).toBe('elements');
  expect(curveFeatureMask(run({ image: small }, { image: small }, 'feature-ablation', 'grid:2x2'))).toBe('grid:2x2');
  expect(curveFeatureMask(run({ image: large }, { image: large }))).toBe('grid:8x8');
  expect(curveFeatureMask(run({ image: large }, { image: large }, 'feature-ablation', 'slic:20'))).toBe('slic:20');
  const tab = f32([1, 30]);
  expect(curveFeatureMask(run({ x: tab }, { x: tab }))).toBe('elements');
});

test('the button is disabled with the reason as text, and the old results cleared', () => {
  const button = document.createElement('button');
  const note = document.createElement('span');
  const view = document.createElement('div');
  view.append(document.createElement('canvas'));
  const hostile = '<img src=x onerror="window.__pwned=1">';
  resetEvaluate(button, note, view, `at a layer (${hostile})`);
  expect(button.disabled).toBe(true);
  expect(note.textContent).toBe(`at a layer (${hostile})`);
  expect(note.children).toHaveLength(0);
  expect(view.childNodes).toHaveLength(0);
  resetEvaluate(button, note, view, undefined);
  expect(button.disabled).toBe(false);
  expect(note.textContent).toMatch(/infidelity/);
});
