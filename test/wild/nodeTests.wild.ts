/**
 * Gradient rules against the ONNX backend node tests (../shared/wild/
 * onnx-node-tests, not in CI): every test whose model is one op with a rule
 * (or a lowering: LSTM, GRU, RNN, Attention) and float32 inputs is differentiated (sum of the first output, with respect
 * to every float32 input) and compared with central finite differences.
 * Prints a table: op, tests run, max relative L2 error, and the tests skipped
 * with why. A test whose data sits on a kink (x = 0 in the *_example tests
 * of Elu, LeakyRelu, Selu) or a tie (repeated values under MaxPool,
 * ReduceMin) is measured again off it; every test that still does not pass
 * must match a reviewed reason (REVIEWED). `npx --yes pnpm@10 wild`
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decodeModel,
  decodeTensor,
  tensorToArray,
  tensorDims,
  findGradient,
  findLowering,
  lowerModel,
  probeShapes,
  opsetVersion,
  DataType,
  GradientError,
  type Tensor,
} from '@onnx-explain/core';
import { checkGradients, weighted, runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';

const dir = path.resolve(process.env.WILD_DIR ?? path.join(repoRoot, '../shared/wild'), 'onnx-node-tests');
const have = fs.existsSync(dir);

(have ? test : test.skip)('gradient rules vs finite differences on the ONNX backend node tests', async () => {
  const rows = new Map<string, { run: number; maxErr: number; worst: string; failed: string[]; jittered: string[] }>();
  const skipped = new Map<string, number>();
  const skip = (why: string) => skipped.set(why, (skipped.get(why) ?? 0) + 1);
  for (const t of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, t, 'model.onnx');
    if (!fs.existsSync(file)) continue;
    const model = decodeModel(fs.readFileSync(file));
    const nodes = model.graph!.node ?? [];
    if (nodes.length !== 1) { skip('more than one node'); continue; }
    const node = nodes[0];
    const opset = opsetVersion(model, '') ?? 0;
    // an op without a rule is differentiated through its lowering, as the engine does
    const lowered = !findGradient(node.opType!, '', opset);
    if (node.domain || (lowered && !findLowering(node.opType!, ''))) { skip('no rule or lowering for the op'); continue; }
    const data = path.join(dir, t, 'test_data_set_0');
    const feeds: Record<string, Tensor> = {};
    let ok = true;
    (model.graph!.input ?? []).forEach((vi, i) => {
      const f = path.join(data, `input_${i}.pb`);
      if (!fs.existsSync(f)) { ok = false; return; }
      const tp = decodeTensor(fs.readFileSync(f));
      const map: Record<number, Tensor['type']> = { [DataType.FLOAT]: 'float32', [DataType.INT64]: 'int64', [DataType.INT32]: 'int32', [DataType.BOOL]: 'bool' };
      const type = map[tp.dataType ?? 0];
      if (!type) { ok = false; return; }
      try {
        feeds[vi.name!] = { type, dims: tensorDims(tp), data: tensorToArray(tp) as Tensor['data'] };
      } catch {
        ok = false;
      }
    });
    if (!ok) { skip('inputs of a type not handled (or missing)'); continue; }
    // the data input; every float input only for ops whose inputs are all data (weights are never differentiated)
    const allData = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'MatMul', 'Gemm', 'Concat', 'PRelu', 'Einsum', 'Attention'].includes(node.opType!);
    // inputs holding -inf (an attention mask) have no central difference there: not differentiated
    const floats = Object.entries(feeds)
      .filter(([, v]) => v.type === 'float32' && v.data.length > 0 && v.data.length <= 400 && (v.data as Float32Array).every(Number.isFinite))
      .map(([k]) => k);
    const wrt = allData ? floats : floats.filter((k) => k === node.input![0]);
    if (!wrt.length) { skip('no float32 input of at most 400 elements'); continue; }
    if (model.graph!.output![0].type?.tensorType?.elemType !== DataType.FLOAT) { skip('first output is not float32'); continue; }
    if (process.env.NODE_TESTS_TRACE) process.stderr.write(`${t}\n`);
    const row = rows.get(node.opType!) ?? { run: 0, maxErr: 0, worst: '', failed: [], jittered: [] };
    try {
      const s = await runtime.createSession(model);
      const out = await s.run(feeds);
      await s.release();
      const first = out[model.graph!.output![0].name!];
      if (first.type !== 'float32') { skip('first output is not float32'); continue; }
      // drop every output but the first, then weight it
      model.graph!.output = [model.graph!.output![0]];
      // Two FD steps: 1e-3, and 1e-3 scaled to the inputs (node tests often
      // feed integers like 0..59, where float32 rounding swamps a small step
      // of a linear op); the better agreement counts, as both are valid estimates.
      let scale = 1;
      for (const w of wrt) for (const v of feeds[w].data as Float32Array) scale = Math.max(scale, Math.abs(v));
      const weightedModel = weighted(model, first.dims);
      let differentiated: typeof model | undefined;
      if (lowered) {
        const low = lowerModel(weightedModel, await probeShapes(runtime, weightedModel, feeds, []));
        if (low.refused.length) throw new GradientError(`${t}: not lowered: ${low.refused[0].reason}`);
        differentiated = low.model;
      }
      const measure = async (f: Record<string, Tensor>) => {
        let err = Infinity;
        for (const h of scale > 1 ? [1e-3, 1e-3 * scale] : [1e-3]) {
          const res = await checkGradients(weightedModel, f, wrt, h, differentiated);
          err = Math.min(err, Math.max(...Object.values(res.relErr)));
        }
        return err;
      };
      let err = await measure(feeds);
      // A test's own data may sit on a tie (repeated values under a max) or a
      // kink (x = 0 for Elu, x = alpha for ThresholdedRelu), where central
      // differences average two one-sided slopes and no gradient is "the"
      // gradient: moved off them by a small deterministic jitter, the rule
      // must then agree (the tolerance is not loosened).
      if (!(err < 1e-2)) {
        const jittered = { ...feeds };
        // each element moved by 1% to 2% of max(1, |x|), either way: farther than the 1e-3 step, so no difference straddles the kink
        const nudge = (i: number) => ((i * 7919) % 2 ? 1 : -1) * (0.01 + 0.01 * (((i * 104729) % 17) / 17));
        for (const w of wrt) jittered[w] = { ...feeds[w], data: (feeds[w].data as Float32Array).map((v, i) => v + nudge(i) * Math.max(1, Math.abs(v))) };
        const moved = await measure(jittered);
        if (moved < 1e-2) {
          row.jittered.push(t);
          err = moved;
        }
      }
      row.run++;
      if (err > row.maxErr) { row.maxErr = err; row.worst = t; }
      if (!(err < 1e-2)) row.failed.push(`${t} (${err.toExponential(1)})`);
    } catch (e) {
      if (e instanceof GradientError) row.failed.push(`${t}: ${(e as Error).message.slice(0, 100)}`);
      else row.failed.push(`${t}: onnxruntime: ${(e as Error).message.split('\n')[0].slice(0, 100)}`);
    }
    rows.set(node.opType!, row);
  }
  const lines = ['| op | tests run | max rel. L2 error | worst test | passed off a tie or kink | not passing (error > 1e-2 or refused) |', '| --- | --- | --- | --- | --- | --- |'];
  for (const [op, r] of [...rows.entries()].sort()) {
    lines.push(`| ${op} | ${r.run} | ${r.maxErr.toExponential(1)} | ${r.worst} | ${r.jittered.join('; ')} | ${r.failed.join('; ')} |`);
  }
  lines.push('', 'skipped:', ...[...skipped.entries()].map(([k, v]) => `- ${k}: ${v}`));
  const table = lines.join('\n');
  fs.writeFileSync(path.join(repoRoot, 'node-tests-gradients.md'), table + '\n');
  process.stderr.write(table + '\n');
  expect(rows.size).toBeGreaterThan(20);
  // every row accounted for: a test that does not pass must be refused for a reviewed reason
  const unexplained = [...rows.values()].flatMap((r) => r.failed).filter((f) => !REVIEWED.some((re) => re.test(f)));
  expect(unexplained).toEqual([]);
});

/**
 * Why a node test may not pass, reviewed one by one: a mode with no rule,
 * refused by name; data at the edge of the op's domain, where a central
 * difference steps outside it (acosh at 1, a zero base under a fractional
 * power), so the oracle itself is NaN.
 */
const REVIEWED = [
  /: (BatchNormalization|Dropout) node '[^']*': (BatchNormalization|Dropout) in training mode has no gradient rule/,
  /: Resize node '[^']*': Resize in 'cubic' mode has no gradient rule/,
  /: Resize node '[^']*': Resize with antialias has no gradient rule/,
  /: Resize node '[^']*': coordinate_transformation_mode 'tf_crop_and_resize' has no gradient rule/,
  /^test_acosh_example \(NaN\)$/,
  /: GridSample node '[^']*': GridSample in 'cubic' mode has no gradient rule$/,
  /: GridSample node '[^']*': GridSample over 3 spatial axes has no gradient rule \(4-D only\)$/,
  // onnxruntime refuses batch-major (layout 1) recurrent ops, so these tests cannot run at all
  /^test_(lstm|gru|simple_rnn)_batchwise: onnxruntime: Exception during initialization: .*providers\/cpu\/rnn\//,
  // the float64 oracle: onnxruntime's double Attention with is_causal and a float mask fails to build (its Add mixes double and float);
  // the lowered float32 forward of these tests equals onnxruntime's float32 kernel (lowerAndCheck), their gradients go unmeasured here
  /^test_attention_\w+_causal: onnxruntime: Type Error: Type parameter \(T\) of Optype \(Add\) bound to different types \(tensor\(double\)/,
  // onnxruntime-node 1.30 fails to run this test's own model and data (nonpad_kv_seqlen)
  /^test_attention_4d_diff_heads_mask4d_padded_kv: onnxruntime: Non-zero status code returned while running Attention node/,
  // Attention's optional fourth output (the scores at one of four stages) is not lowered: the op is refused by name
  /not lowered: Attention node '[^']*': output 3 \('qk_matmul_output'\) is not produced by the lowering/,
  /^test_pow \(NaN\)$/,
];
