import * as fs from 'fs';
import { decodeModel, Explainer, integratedGradients, saliency, gradCam, noiseTunnel, gradientShap, inputXGradient, type Tensor } from '@onnx-explain/core';
import { OrtNodeRuntime } from '@onnx-explain/node';
const npy = (f: string): Tensor => { const b = fs.readFileSync('models/samples/' + f); const hl = b.readUInt16LE(8); const h = b.subarray(10, 10 + hl).toString(); const dims = /\(([^)]*)\)/.exec(h)![1].split(',').filter((s) => s.trim()).map(Number); const body = new Uint8Array(b.subarray(10 + hl)).buffer; return h.includes('<i8') ? { type: 'int64', dims, data: new BigInt64Array(body) } : { type: 'float32', dims, data: new Float32Array(body) }; };
test('smoke', async () => {
  const ex = new Explainer(new OrtNodeRuntime(), decodeModel(fs.readFileSync('models/digits_cnn.onnx')));
  for (const g of ['graph', 'fd'] as const) {
    const t0 = Date.now();
    const r = await integratedGradients(ex, { image: npy('digit_3.npy') }, { gradients: g });
    console.log(g, r.classes, r.outputs, r.baselineOutputs, r.sum, r.delta, r.gradientSource, r.fdReason, Date.now() - t0, 'ms');
  }
  const s = await saliency(ex, { image: npy('digit_3.npy') });
  console.log('sal', s.sum);
  const gc = await gradCam(ex, { image: npy('digit_3.npy') }, { layer: '/features/features.3/Relu_output_0' });
  console.log('cam', gc.heatmap.dims, gc.weights.dims);
  const nt = await noiseTunnel(ex, { image: npy('digit_3.npy') }, { stdev: 0.1 });
  console.log('nt', nt.sum);
  const gs = await gradientShap(ex, { image: npy('digit_3.npy') }, {});
  console.log('gs', gs.sum, gs.delta);
  const tx = new Explainer(new OrtNodeRuntime(), decodeModel(fs.readFileSync('models/text_classifier.onnx')));
  const r = await integratedGradients(tx, { token_ids: npy('review_positive.npy') }, { at: '/embedding/Gather_output_0' });
  console.log('text', r.classes, r.delta, r.positionScores?.data);
  await ex.release(); await tx.release();
});
