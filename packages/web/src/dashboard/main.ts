/**
 * The attribution dashboard: open a model, give an input, pick a method, run
 * it with progress and a cancel button, and see the attributions. Everything
 * runs in the browser; nothing is uploaded. For tests, the last result is
 * exposed as window.__onnxExplain.
 *
 * A model file is untrusted: the page is built with DOM calls (../dom.ts) and
 * never from HTML strings, so names, metadata and tokens show as text.
 */
import {
  Explainer,
  explainWith,
  summarizeModel,
  textFeeds,
  gradientCoverage,
  embeddingOutputs,
  explainedOutput,
  parseNpy,
  attributionMap,
  type ModelProto,
  type Tensor,
  type ExplainResult,
  type ExplainOptions,
  type MethodName,
  type IntegrationMethod,
  type CoverageReport,
  type MethodOptionName,
  describeLowered,
  piecewiseConstantReason,
  METHODS,
  METHOD_TABLE,
  METHOD_OPTIONS,
  chooseMethod,
  TextTokenizer,
} from '@onnx-explain/core';
import { OrtWebRuntime, loadModelFromFile, fetchModel, drawHeatmap, renderTokens, renderFeatureBars } from '../index';
// Every string from the model or the user reaches the page through these (text nodes, never markup).
import { h, replace, type Child } from '../dom';
// the Evaluate section: core's quality metrics on the last run's inputs and attributions
import { evaluateRun, evaluateUnavailable, renderEvaluation, resetEvaluate, type EvaluableRun } from './evaluateView';
// text models read with their own tokenizer.json (a classifier's token colours, a decoder's generation matrix)
import { textModel, TEXT_SAMPLES, tokenizerLine, decoderFields, setBaselineChoices, textBaseline, explainTextForm, predictText, generationSummary, renderTextRun, textRunRecord, type TextModel, type TextRun, type Prompt } from './textView';

type Kind = 'image' | 'tabular' | 'text' | 'other';

interface ExampleMeta {
  file: string;
  feature_names?: string[];
  class_names?: string[];
  /** A text model's tokenizer.json, next to it in examples/. */
  tokenizer?: string;
  /** A sample is an .npy file (`input`), a text, or named input tensors (`inputs`: a text model's ids). */
  samples?: Record<string, { input?: string; text?: string; inputs?: Record<string, { data: number[] }> }>;
}

interface State {
  model?: ModelProto;
  name: string;
  explainer?: Explainer;
  kind: Kind;
  inputName: string;
  at?: string;
  meta?: ExampleMeta;
  vocab?: Record<string, number>;
  /** A text model: its ids input, embedding cut and whether it is a decoder. */
  text?: TextModel;
  /** The model's tokenizer.json, when given: the text is then tokenized by it (textView.ts). */
  tokenizer?: TextTokenizer;
  input?: Tensor;
  /** A sample being fetched: Predict and Run wait for it rather than read a half-filled form. */
  loading?: Promise<void>;
  /** Grey preview of an image input, for drawing the heatmap over. */
  grey?: Float32Array;
  tokens?: string[];
  result?: ExplainResult;
  /** The last run through textView (a tokenizer, or a decoder); `result` is then its classifier's result, if any. */
  textRun?: TextRun;
  /** The last run's feeds and options, for the Evaluate section (evaluateView.ts). */
  evaluable?: EvaluableRun;
  seconds?: number;
}

declare global {
  interface Window {
    __onnxExplain: { ready: boolean; ep?: string; runs: number; lastResult?: unknown; error?: string; opened?: string; evaluations?: number; lastEvaluation?: unknown };
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const runtime = new OrtWebRuntime({
  executionProvider: (params.get('ep') as 'auto' | 'webgpu' | 'wasm' | null) ?? 'auto',
  wasmPaths: new URL('./ort/', location.href).href,
});
const state: State = { name: '', kind: 'other', inputName: '' };
let examples: Record<string, ExampleMeta> = {};
let controller: AbortController | undefined;
window.__onnxExplain = { ready: false, runs: 0 };

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  $('error').textContent = msg;
  $('error').hidden = false;
  // the box is pinned to the top of the window (style.css), so it shows wherever the page was scrolled
  window.__onnxExplain.error = msg;
}

function clearError(): void {
  $('error').hidden = true;
  window.__onnxExplain.error = undefined;
}

function kindOf(model: ModelProto): { kind: Kind; inputName: string; at?: string; text?: TextModel } {
  const s = summarizeModel(model);
  // before the float checks: a decoder's past key/values are float inputs of rank 4
  const text = textModel(model);
  if (text) return { kind: 'text', inputName: text.ids, at: text.at, text };
  const float = s.inputs.find((i) => i.type === 'float32');
  if (float?.shape?.length === 4) return { kind: 'image', inputName: float.name };
  if (float?.shape?.length === 2) return { kind: 'tabular', inputName: float.name };
  const emb = embeddingOutputs(model)[0];
  const ints = s.inputs.find((i) => i.type === 'int64' || i.type === 'int32');
  if (!float && ints && emb) return { kind: 'text', inputName: ints.name, at: emb };
  return { kind: 'other', inputName: float?.name ?? s.inputs[0]?.name ?? '' };
}

function coverageLine(c: CoverageReport): Child[] {
  if (c.piecewiseConstant.length) return [h('span', { className: 'warn' }, 'no gradient method explains it'), ` (${piecewiseConstantReason(c)})`];
  if (c.verdict === 'graph') {
    const lowered = c.lowered.map((b) => `${b.domain ? b.domain + '::' : ''}${b.opType}`).join(', ');
    return [
      h('span', { className: 'ok' }, 'differentiable by graph'),
      lowered ? ` (${lowered} lowered to standard ops that have gradient rules)` : ' (every op on the path has a gradient rule)',
    ];
  }
  const why = c.blocking.length ? c.blocking.map((b) => `${b.domain ? b.domain + '::' : ''}${b.opType}`).join(', ') : c.note ?? '';
  return [h('span', { className: 'warn' }, 'finite differences'), ` (no gradient rule for ${why})`];
}

/** `source`: where the model came from (the final URL after redirects, for a URL). */
async function openModel(model: ModelProto, name: string, meta?: ExampleMeta, source?: string): Promise<void> {
  clearError();
  await state.explainer?.release();
  const k = kindOf(model);
  // every field the last model set is reset: a text model's embedding layer left in `at` made the next model's run fail
  Object.assign(state, { model, name, meta, explainer: new Explainer(runtime, model), kind: k.kind, inputName: k.inputName, at: k.at, text: k.text, tokenizer: undefined, input: undefined, loading: undefined, grey: undefined, tokens: undefined, vocab: undefined, result: undefined, textRun: undefined, evaluable: undefined, seconds: undefined });
  replace($('summary'));
  replace($('result-view'));
  const s = summarizeModel(model);
  const cov = gradientCoverage(model, k.at ? { wrt: [k.at] } : {});
  const dims = (d?: (number | string | null)[]) => (d ? `[${d.map((x) => x ?? '?').join(', ')}]` : '');
  const rows = (title: string, vs: typeof s.inputs) => [
    h('tr', {}, h('th', {}, title), h('th')),
    ...vs.map((v) => h('tr', {}, h('td', { className: 'tensor-name' }, v.name), h('td', {}, `${v.type} ${dims(v.shape)}`))),
  ];
  replace(
    $('model-info'),
    h('div', {}, h('b', { id: 'model-name' }, name), ` — ${s.producer || 'unknown producer'}, opset ${s.opsets.map((o) => o.version).join('/')}, ${s.nodeCount} nodes, ${s.parameterCount.toLocaleString()} parameters`),
    source && source !== name ? h('div', { className: 'muted' }, 'loaded from ', h('code', { id: 'model-source' }, source)) : null,
    s.description ? h('div', { className: 'muted' }, s.description) : null,
    h('table', {}, ...rows('inputs', s.inputs), ...rows('outputs', s.outputs)),
    s.metadata.length ? h('table', { id: 'model-metadata' }, h('tr', {}, h('th', {}, 'metadata'), h('th')), ...s.metadata.map((m) => h('tr', {}, h('td', {}, m.key), h('td', {}, m.value)))) : null,
    h('div', {}, 'Gradients: ', ...coverageLine(cov), ...(k.at ? [' — explained at the embedding output ', h('code', {}, k.at)] : [])),
  );
  // image masks (grid, superpixels) do not carry over to a model whose input is no image
  const mask = $<HTMLInputElement>('feature-mask');
  if (k.kind !== 'image' && /^(grid|slic):/.test(mask.value.trim())) mask.value = 'elements';
  // a model no gradient explains starts on what 'auto' would run for it (tree-shap for a readable tree ensemble, else kernel-shap)
  if (cov.piecewiseConstant.length && METHOD_TABLE[$<HTMLSelectElement>('method').value as MethodName]?.family === 'gradient') {
    $<HTMLSelectElement>('method').value = chooseMethod(state.explainer!).method;
    $('method').dispatchEvent(new Event('change'));
  }
  syncBaselineChoices();
  $('model-info').hidden = false;
  $('result-section').hidden = true;
  renderInputPanel();
  $('input-section').hidden = false;
  $('method-section').hidden = false;
  $('prediction').textContent = '';
  resetTargets();
}

function resetTargets(): void {
  const sel = $<HTMLSelectElement>('target');
  // a decoder's "classes" are its vocabulary: each generated token is its own target
  if (state.text?.decoder) return sel.replaceChildren(new Option('each generated token', ''));
  sel.replaceChildren(new Option('top class', ''));
  const s = state.model ? summarizeModel(state.model) : undefined;
  const explained = state.model ? explainedOutput(state.model) : undefined;
  const n = s?.outputs.find((o) => o.name === explained)?.shape?.at(-1);
  if (typeof n === 'number') for (let c = 0; c < n; c++) sel.append(new Option(className(c), String(c)));
}

function className(c: number): string {
  const names = state.meta?.class_names;
  return names?.[c] ? `${c}: ${names[c]}` : `class ${c}`;
}

// ---- inputs ------------------------------------------------------------

function npyToTensor(buf: ArrayBuffer): Tensor {
  const a = parseNpy(new Uint8Array(buf));
  return { type: a.dtype as Tensor['type'], dims: a.shape, data: a.data };
}

async function fetchSample(file: string): Promise<Tensor> {
  const r = await fetch(`./examples/${file}`);
  return npyToTensor(await r.arrayBuffer());
}

function renderInputPanel(): void {
  const panel = $('input-panel');
  const samples = Object.keys(state.meta?.samples ?? {});
  const sampleButtons = (label: string): Child[] =>
    samples.length ? [h('span', { className: 'label' }, label), ...samples.map((k) => h('button', { className: 'sample', dataset: { sample: k } }, k.replace(/_/g, ' ')))] : [];
  const fileInput = (id: string, accept: string) => {
    const input = h('input', { id });
    input.type = 'file';
    input.accept = accept;
    return input;
  };
  if (state.kind === 'image') {
    const canvas = h('canvas', { id: 'preview' });
    canvas.width = canvas.height = 0;
    replace(panel, h('div', { className: 'row' }, h('label', {}, 'Image file ', fileInput('image-file', 'image/*')), ...sampleButtons('or a sample')), canvas);
    $('image-file').addEventListener('change', (ev) => void loadImageFile((ev.target as HTMLInputElement).files![0]).catch(showError));
  } else if (state.kind === 'tabular') {
    const n = summarizeModel(state.model!).inputs.find((i) => i.name === state.inputName)?.shape?.[1];
    replace(
      panel,
      h('div', { className: 'row' }, ...sampleButtons('Samples'), h('label', {}, 'or a .json / .npy file ', fileInput('tabular-file', '.json,.npy'))),
      h('label', {}, `${n ?? ''} feature values, separated by commas or spaces`, h('textarea', { id: 'tabular-values' })),
    );
    $('tabular-file').addEventListener('change', (ev) => void loadTensorFile((ev.target as HTMLInputElement).files![0]).catch(showError));
    $('tabular-values').addEventListener('change', () => readTabular());
  } else if (state.kind === 'text') {
    const raw = h('input', { id: 'raw-ids' });
    raw.type = 'checkbox';
    replace(
      panel,
      h('div', { className: 'row' }, ...sampleButtons('Samples'), h('label', {}, 'tokenizer.json ', fileInput('tokenizer-file', '.json')), h('label', {}, 'or a vocabulary (JSON token → id) ', fileInput('vocab-file', '.json')), h('label', {}, raw, ' raw token ids')),
      h('div', { id: 'tokenizer-info', className: 'muted' }),
      h('label', {}, 'Text', h('textarea', { id: 'text-input' })),
      state.text?.decoder ? decoderFields() : null,
    );
    $('vocab-file').addEventListener('change', (ev) => void (ev.target as HTMLInputElement).files![0].text().then((t) => (state.vocab = JSON.parse(t))).catch(showError));
    $('tokenizer-file').addEventListener('change', (ev) => {
      const f = (ev.target as HTMLInputElement).files![0];
      state.loading = f.text().then((t) => useTokenizer(t, f.name)).catch(showError);
    });
  } else {
    replace(panel, h('div', { className: 'row' }, h('label', {}, 'Input tensor (.json or .npy) ', fileInput('tensor-file', '.json,.npy'))));
    $('tensor-file').addEventListener('change', (ev) => void loadTensorFile((ev.target as HTMLInputElement).files![0]).catch(showError));
  }
  panel.querySelectorAll<HTMLButtonElement>('button.sample').forEach((b) =>
    b.addEventListener('click', () => {
      state.loading = useSample(b.dataset.sample!).catch(showError);
    }),
  );
  // the toy vocabulary belongs to the shipped toy model; an example with a tokenizer.json has its own
  if (state.kind === 'text' && !state.meta?.tokenizer) void loadVocab();
}

async function loadVocab(): Promise<void> {
  if (state.meta) state.vocab = await (await fetch('./examples/text_vocab.json')).json();
}

/** A tokenizer.json's contents: from now on the text is tokenized by it, and the baselines are tokens. */
function useTokenizer(json: string, source: string): void {
  state.tokenizer = new TextTokenizer(json);
  replace($('tokenizer-info'), ...tokenizerLine(state.tokenizer, source));
  // with a tokenizer the text is always read by it: raw ids would bypass its special tokens
  const raw = $<HTMLInputElement>('raw-ids');
  raw.checked = false;
  raw.disabled = true;
  syncBaselineChoices();
}

/** Runs on a text model go through textView with a tokenizer, and always for a decoder (token by token, not by class). */
function usesTextView(): boolean {
  return state.kind === 'text' && !!state.text && (!!state.tokenizer || state.text.decoder);
}

function syncBaselineChoices(): void {
  setBaselineChoices($<HTMLSelectElement>('baseline'), usesTextView(), state.tokenizer);
}

/** The text panel's prompt: the text for the tokenizer, else ids (raw, or the toy vocabulary's). */
function textPrompt(): Prompt {
  if (state.tokenizer) return { text: $<HTMLTextAreaElement>('text-input').value };
  const t = textInput();
  return { ids: Array.from(t.data as BigInt64Array, Number) };
}

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

async function useSample(key: string): Promise<void> {
  const sample = state.meta!.samples![key];
  if (state.kind === 'text') {
    // ids read back as text with the tokenizer (its template adds the special tokens again), else shown as raw ids
    const ids = sample.inputs?.[state.inputName]?.data;
    const tok = state.tokenizer;
    const text = sample.text ?? (ids && tok ? tok.decode(ids.filter((id) => !tok.isSpecial(id))) : undefined);
    if (text !== undefined || ids) {
      $<HTMLInputElement>('raw-ids').checked = text === undefined;
      $<HTMLTextAreaElement>('text-input').value = text ?? ids!.join(' ');
      return;
    }
  }
  if (!sample.input) throw new Error(`sample '${key}' has no input file`);
  setInput(await fetchSample(sample.input));
}

function setInput(t: Tensor): void {
  state.input = t;
  if (state.kind === 'tabular') $<HTMLTextAreaElement>('tabular-values').value = Array.from(t.data as Float32Array, (v) => +v.toPrecision(6)).join(', ');
  if (state.kind === 'image') {
    const [, c, h, w] = t.dims;
    const grey = attributionMap(t.data as Float32Array, [c, h, w]).values.map((v) => v / c);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of grey) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    state.grey = grey.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0.5));
    const canvas = $<HTMLCanvasElement>('preview');
    const scale = Math.max(1, Math.floor(128 / Math.max(h, w)));
    canvas.width = w * scale;
    canvas.height = h * scale;
    const ctx = canvas.getContext('2d')!;
    state.grey.forEach((g, i) => {
      ctx.fillStyle = `rgb(${g * 255},${g * 255},${g * 255})`;
      ctx.fillRect((i % w) * scale, Math.floor(i / w) * scale, scale, scale);
    });
  }
}

async function loadTensorFile(file: File): Promise<void> {
  const buf = await file.arrayBuffer();
  if (file.name.endsWith('.npy')) return setInput(npyToTensor(buf));
  const obj = JSON.parse(new TextDecoder().decode(buf)) as { shape?: number[]; data: number[]; dtype?: string };
  const flat = (obj.data as unknown[]).flat(Infinity) as number[];
  const dtype = obj.dtype ?? 'float32';
  setInput({ type: dtype as Tensor['type'], dims: obj.shape ?? [1, flat.length], data: dtype === 'int64' ? BigInt64Array.from(flat.map((v) => BigInt(v))) : Float32Array.from(flat) });
}

function readTabular(): void {
  const values = $<HTMLTextAreaElement>('tabular-values').value.split(/[\s,;]+/).filter(Boolean).map(Number);
  if (!values.length) throw new Error('give an input first (type the feature values, or choose a sample or a file)');
  if (values.some((v) => !Number.isFinite(v))) throw new Error('the feature values must all be numbers');
  state.input = { type: 'float32', dims: [1, values.length], data: Float32Array.from(values) };
}

/** An image file, resized to the model input and converted to its channels, values in [0, 1]. */
async function loadImageFile(file: File): Promise<void> {
  const bitmap = await createImageBitmap(file);
  const shape = summarizeModel(state.model!).inputs.find((i) => i.name === state.inputName)!.shape!;
  const [c, h, w] = [shape[1], shape[2], shape[3]].map((d, i) => (typeof d === 'number' ? d : i === 0 ? 3 : i === 1 ? bitmap.height : bitmap.width)) as number[];
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const data = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [px[i * 4], px[i * 4 + 1], px[i * 4 + 2]];
    if (c === 1) data[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else for (let k = 0; k < 3; k++) data[k * h * w + i] = [r, g, b][k] / 255;
  }
  setInput({ type: 'float32', dims: [1, c, h, w], data });
}

function textInput(): Tensor {
  const text = $<HTMLTextAreaElement>('text-input').value;
  const shape = summarizeModel(state.model!).inputs.find((i) => i.name === state.inputName)!.shape!;
  const len = typeof shape[1] === 'number' ? shape[1] : undefined;
  let ids: number[];
  let tokens: string[];
  if ($<HTMLInputElement>('raw-ids').checked) {
    ids = text.split(/[\s,]+/).filter(Boolean).map(Number);
    tokens = ids.map(String);
  } else {
    if (!state.vocab) throw new Error('give the tokenizer.json or a vocabulary (a JSON file mapping tokens to ids), or tick "raw token ids"');
    tokens = text.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter(Boolean);
    const unk = state.vocab['<unk>'] ?? 1;
    ids = tokens.map((t) => state.vocab![t] ?? unk);
  }
  if (len !== undefined) {
    ids = ids.slice(0, len);
    tokens = tokens.slice(0, len);
    while (ids.length < len) ids.push(state.vocab?.['<pad>'] ?? 0);
  }
  state.tokens = tokens;
  return { type: 'int64', dims: [1, ids.length], data: BigInt64Array.from(ids.map(BigInt)) };
}

/** The feeds of a text model read without a tokenizer: the ids, and for a model with more inputs (a mask, token types, pasts) what core's textFeeds gives them. */
function textModelFeeds(ids: Tensor): Record<string, Tensor> {
  const summary = summarizeModel(state.model!);
  if (summary.inputs.length === 1) return { [state.inputName]: ids };
  return textFeeds(summary, [{ ids: Array.from(ids.data as BigInt64Array, Number) }]);
}

function currentFeeds(): Record<string, Tensor> {
  return state.kind === 'text' ? textModelFeeds(currentInput()) : { [state.inputName]: currentInput() };
}

function currentInput(): Tensor {
  if (state.kind === 'text') return textInput();
  if (state.kind === 'tabular') readTabular();
  if (!state.input) throw new Error('give an input first (a file, or one of the samples)');
  return state.input;
}

// ---- running -----------------------------------------------------------

async function predict(): Promise<void> {
  clearError();
  await state.loading;
  if (usesTextView()) {
    const p = await predictText(state.explainer!, state.tokenizer, textPrompt(), className);
    $('prediction').textContent = p.line;
    if (p.top !== undefined) $<HTMLSelectElement>('target').value = String(p.top);
    return;
  }
  const x = currentFeeds();
  // the model's own output: no gradient model is needed to rank classes
  const classes = await state.explainer!.topClasses(x, {}, 1, 'forward');
  const sess = await runtime.createSession(state.model!);
  const out = await sess.run(x);
  await sess.release();
  const logits = Array.from(out[explainedOutput(state.model!)].data as Float32Array);
  const top = logits.map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v).slice(0, 5);
  $('prediction').textContent = `top classes: ${top.map((t) => `${className(t.i)} (${t.v.toFixed(3)})`).join(', ')}`;
  $<HTMLSelectElement>('target').value = String(classes[0]);
}

async function run(): Promise<void> {
  clearError();
  await state.loading;
  if (!state.explainer) throw new Error('open a model first');
  const text = usesTextView();
  const x = text ? {} : currentFeeds();
  const prompt = text ? textPrompt() : undefined;
  const method = $<HTMLSelectElement>('method').value as MethodName;
  // the perturbation methods vary the model's inputs themselves (token ids for text), never a layer
  const family = METHOD_TABLE[method].family;
  const targetValue = $<HTMLSelectElement>('target').value;
  const baseline = $<HTMLSelectElement>('baseline').value === 'constant' ? Number($<HTMLInputElement>('baseline-value').value) : 'zeros';
  controller = new AbortController();
  $<HTMLButtonElement>('run').disabled = true;
  $<HTMLButtonElement>('evaluate').disabled = true;
  $<HTMLButtonElement>('cancel').disabled = false;
  state.evaluable = undefined;
  const opts = {
    target: targetValue === '' ? undefined : Number(targetValue),
    at: family === 'gradient' ? state.at : undefined,
    signal: controller.signal,
    internalBatchSize: 32,
    onProgress: showProgress,
  };
  const started = performance.now();
  try {
    const samples = $<HTMLInputElement>('samples').value;
    const options: ExplainOptions = {
      ...opts,
      method,
      steps: Number($<HTMLInputElement>('steps').value),
      integration: $<HTMLSelectElement>('integration').value as IntegrationMethod,
      baselines: baseline,
      // SmoothGrad's noise in the units of inputs scaled to about [0, 1]
      stdev: 0.1,
      samples: samples === '' ? undefined : Number(samples),
      seed: Number($<HTMLInputElement>('seed').value) || 1,
      window: numberList($<HTMLInputElement>('window').value, 'window'),
      strides: numberList($<HTMLInputElement>('stride').value, 'stride'),
      featureMask: $<HTMLInputElement>('feature-mask').value.trim() || 'elements',
    };
    if (prompt) {
      // core picks the cut (the word embedding) and the baseline tokens itself; `at` and numeric baselines are the toy path's
      const { at: _at, baselines: _b, ...rest } = options;
      const form = {
        prompt,
        baseline: textBaseline($<HTMLSelectElement>('baseline').value, Number($<HTMLInputElement>('baseline-value').value)),
        newTokens: Number(($('new-tokens') as HTMLInputElement | null)?.value ?? 4),
        continuation: ($('continuation') as HTMLInputElement | null)?.value ?? '',
      };
      state.textRun = await explainTextForm(state.explainer, state.text!, state.tokenizer, form, rest);
      state.result = state.textRun.kind === 'tokens' ? state.textRun.explanation.result : undefined;
    } else {
      state.textRun = undefined;
      state.result = await explainWith(state.explainer, x, options);
      const { signal: _s, onProgress: _p, ...ran } = options;
      state.evaluable = { explainer: state.explainer, inputs: x, result: state.result, options: ran };
    }
    state.seconds = (performance.now() - started) / 1000;
    $('progress-text').textContent = `done in ${state.seconds.toFixed(2)} s`;
    await showResult();
  } catch (e) {
    $('progress-text').textContent = controller?.signal.aborted ? 'cancelled' : 'failed';
    if (!controller?.signal.aborted) showError(e);
    // the result still shown is the last run's, but its feeds are gone: nothing to evaluate until a run succeeds
    resetEvaluate($<HTMLButtonElement>('evaluate'), $('evaluate-note'), $('evaluate-view'), evaluateUnavailable(undefined, false));
  } finally {
    $<HTMLButtonElement>('run').disabled = false;
    $<HTMLButtonElement>('cancel').disabled = true;
    controller = undefined;
  }
}

function showProgress(e: { phase: string; done: number; total: number }): void {
  const progress = $<HTMLProgressElement>('progress');
  progress.max = e.total;
  progress.value = e.done;
  $('progress-text').textContent = `${e.phase} ${e.done}/${e.total}`;
}

/** The Evaluate button: core's metrics on the last run (evaluateView.ts), with the same progress bar and Cancel as Run. */
async function evaluate(): Promise<void> {
  clearError();
  const run = state.evaluable;
  const why = evaluateUnavailable(run, !!state.textRun);
  if (why || !run) throw new Error(why ?? 'run an explanation first');
  controller = new AbortController();
  const button = $<HTMLButtonElement>('evaluate');
  button.disabled = true;
  $<HTMLButtonElement>('run').disabled = true;
  $<HTMLButtonElement>('cancel').disabled = false;
  $('evaluate-view').replaceChildren();
  const started = performance.now();
  try {
    const report = await evaluateRun(run, { signal: controller.signal, onProgress: showProgress });
    // a run started meanwhile is impossible (Run is disabled), but a model opened meanwhile is not: show nothing stale
    if (state.evaluable !== run) return;
    $('progress-text').textContent = `evaluated in ${((performance.now() - started) / 1000).toFixed(2)} s`;
    renderEvaluation($('evaluate-view'), report);
    window.__onnxExplain.evaluations = (window.__onnxExplain.evaluations ?? 0) + 1;
    window.__onnxExplain.lastEvaluation = {
      method: report.method,
      infidelity: report.infidelity,
      sensitivity: report.sensitivity,
      deletionAuc: report.deletion.auc[0],
      insertionAuc: report.insertion.auc[0],
      featureMask: report.featureMask,
      completeness: report.completeness?.delta[0],
    };
  } catch (e) {
    $('progress-text').textContent = controller?.signal.aborted ? 'cancelled' : 'failed';
    if (!controller?.signal.aborted) showError(e);
  } finally {
    button.disabled = state.evaluable !== run;
    $<HTMLButtonElement>('run').disabled = false;
    $<HTMLButtonElement>('cancel').disabled = true;
    controller = undefined;
  }
}

/** '2,2' as [2, 2]; a field of the form that is not a list of whole numbers is named. */
function numberList(v: string, field: string): number[] {
  const xs = v.split(',').map((t) => Number(t.trim()));
  if (!xs.length || xs.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${field} takes whole numbers separated by commas, e.g. 2,2; got '${v}'`);
  return xs;
}

/** Where the attributions' gradients came from, or how many times a perturbation method ran the model; and its own checks. */
function howText(r: ExplainResult): string {
  if (r.method === 'tree-shap') return `read from the trees (${r.algorithm}, ${r.treeOutput} scores${r.covers ? `, node covers from ${r.covers}` : ''})`;
  if (r.gradientSource === 'none') {
    const extra = r.r2 ? `, surrogate R² ${r.r2[0].toFixed(3)}` : r.exact ? `, ${r.coalitions![0]} coalitions${r.exact[0] ? ' (all: exact Shapley values)' : ' (sampled)'}` : '';
    return `no gradients: the model ran ${r.evaluations} times${extra}`;
  }
  return `gradients by ${r.gradientSource === 'graph' ? 'graph' : 'finite differences'}${r.lowered ? ` (through ${describeLowered(r.lowered)}, lowered to standard ops)` : ''}`;
}

/** The summary lines of a method's result: what ran, what was explained, completeness, checks. */
function resultLines(r: ExplainResult): Child[] {
  const cls = r.classes?.[0];
  return [
    h('div', {}, h('b', {}, r.method), `${r.steps ? ` · ${r.steps} steps, ${r.integration}` : ''} · ${howText(r)}`, r.fdReason ? h('span', { id: 'fd-reason' }, ` (${r.fdReason})`) : null),
    h('div', {}, `Explained: ${cls !== undefined ? className(cls) : String(r.target)}${r.target === 'top' ? ' (the top class)' : ''}, output ${r.outputs[0].toFixed(4)}`),
    r.delta
      ? h('div', {}, `Completeness: sum of attributions ${r.sum[0].toFixed(4)}, F(x) − F(baseline) ${(r.sum[0] - r.delta[0]).toFixed(4)}, delta `, h('b', {}, r.delta[0].toExponential(2)))
      : h('div', {}, `Sum of attributions ${r.sum[0].toFixed(4)}`),
    ...(r.warnings ?? []).map((w) => h('div', { className: 'warn warning' }, `Check: ${w}`)),
  ];
}

async function showResult(): Promise<void> {
  const ep = await runtime.executionProvider();
  const view = $('result-view');
  view.replaceChildren();
  const grid = h('div', { className: 'result-grid' });
  view.append(grid);
  const time = h('div', {}, `Time ${state.seconds!.toFixed(2)} s on ${runtime.name}${window.__onnxExplain.runs === 0 ? ' (the first run also prepares the gradient model)' : ''}`);
  $('download-png').hidden = state.kind !== 'image';
  $('result-section').hidden = false;
  if (state.textRun) {
    // a decoder's run is many results (a row each): its own summary; a classifier's is the one result's
    replace($('summary'), ...(state.textRun.kind === 'generation' ? generationSummary(state.textRun) : resultLines(state.textRun.explanation.result)), time);
    renderTextRun(grid, state.textRun);
    resetEvaluate($<HTMLButtonElement>('evaluate'), $('evaluate-note'), $('evaluate-view'), evaluateUnavailable(undefined, true));
    window.__onnxExplain.runs++;
    window.__onnxExplain.lastResult = { ep, ...textRunRecord(state.textRun) };
    return;
  }
  const r = state.result!;
  const name = Object.keys(r.attributions)[0];
  const attr = r.attributions[name];
  replace($('summary'), ...resultLines(r), time);
  resetEvaluate($<HTMLButtonElement>('evaluate'), $('evaluate-note'), $('evaluate-view'), evaluateUnavailable(state.evaluable, false));
  if (state.kind === 'image') {
    const [, c, height, width] = attr.dims;
    const canvas = h('canvas', { id: 'heatmap' });
    drawHeatmap(canvas, attributionMap((attr.data as Float32Array).subarray(0, c * height * width), [c, height, width]), { background: state.grey });
    grid.append(h('figure', {}, canvas, h('figcaption', {}, 'Attribution over the input: red pushes towards the class, blue away from it.')));
  } else if (state.kind === 'tabular') {
    const bars = h('div', { id: 'bars' });
    renderFeatureBars(bars, attr.data as Float32Array, state.meta?.feature_names);
    grid.append(bars);
  } else if (state.kind === 'text' && (r.positionScores || r.gradientSource === 'none')) {
    const div = h('div', { id: 'tokens' });
    // a layer attribution's per-position scores, or a perturbation method's on the token ids themselves
    renderTokens(div, state.tokens ?? [], (r.positionScores ?? attr).data as Float32Array);
    const fig = h('figure', {}, div);
    fig.append(h('figcaption', {}, `Each token coloured by its attribution (${r.positionScores ? 'summed over the embedding' : 'the output drop when it is replaced'}): red for the explained class, blue against it. Hover for the value.`));
    grid.append(fig);
  }
  window.__onnxExplain.runs++;
  window.__onnxExplain.lastResult = {
    ep,
    method: r.method,
    classes: r.classes,
    delta: r.delta,
    steps: r.steps,
    attributed: name,
    dims: attr.dims,
    attributions: Array.from(attr.data as Float32Array),
    warnings: r.warnings ?? [],
  };
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- wiring ------------------------------------------------------------

async function init(): Promise<void> {
  examples = await (await fetch('./examples/models.json')).json();
  document.querySelectorAll<HTMLButtonElement>('button.example').forEach((b) =>
    b.addEventListener('click', () => {
      const key = b.dataset.example!;
      // the shipped text models get a few more sample texts (textView's TEXT_SAMPLES) after models.json's own
      const meta: ExampleMeta = { ...examples[key], samples: { ...examples[key].samples, ...Object.fromEntries(Object.entries(TEXT_SAMPLES[key] ?? {}).map(([k, text]) => [k, { text }])) } };
      void fetchModel(`./examples/${meta.file}`)
        .then(async (m) => {
          await openModel(m.model, meta.file, meta);
          // a text example comes with its tokenizer.json, served next to it
          if (meta.tokenizer) await (state.loading = fetchText(`./examples/${meta.tokenizer}`).then((t) => useTokenizer(t, meta.tokenizer!)));
          // an example comes with its first sample chosen, so Run works straight away
          const first = Object.keys(meta.samples ?? {})[0];
          if (first) await (state.loading = useSample(first));
          window.__onnxExplain.opened = key;
        })
        .catch(showError);
    }),
  );
  $('model-file').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files![0];
    void loadModelFromFile(f).then((m) => openModel(m, f.name)).catch(showError);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => (e.preventDefault(), drop.classList.add('over')));
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void loadModelFromFile(f).then((m) => openModel(m, f.name)).catch(showError);
  });
  $('model-url-load').addEventListener('click', () => {
    clearError();
    const url = $<HTMLInputElement>('model-url').value.trim();
    // only http(s), at most DEFAULT_MAX_MODEL_BYTES, side files from the model's own folder (loadModel.ts)
    void fetchModel(url).then((m) => openModel(m.model, url, undefined, m.url)).catch(showError);
  });
  $('baseline').addEventListener('change', () => ($('baseline-value').hidden = $<HTMLSelectElement>('baseline').value !== 'constant'));
  // the method list and which fields apply, from the methods table (Grad-CAM, which needs a layer, is not offered here)
  const methodSelect = $<HTMLSelectElement>('method');
  for (const m of METHODS) {
    if ('needsLayer' in METHOD_TABLE[m]) continue;
    const option = h('option', {}, METHOD_TABLE[m].label);
    option.value = m;
    methodSelect.append(option);
  }
  // each field names the option it sets (data-option): it is enabled for the methods that read it, and its help is the table's
  const fields = Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-option]'));
  const fieldsFor = () => {
    const reads = METHOD_TABLE[methodSelect.value as MethodName].options as readonly string[];
    for (const f of fields) f.disabled = !reads.includes(f.dataset.option!);
  };
  methodSelect.addEventListener('change', fieldsFor);
  fieldsFor();
  for (const f of fields) f.title = METHOD_OPTIONS[f.dataset.option as MethodOptionName].help;
  $('predict').addEventListener('click', () => void (state.explainer ? predict() : Promise.reject(new Error('open a model first'))).catch(showError));
  // every failure of a click lands in the error box, never as an uncaught page error
  $('run').addEventListener('click', () => void run().catch(showError));
  $('cancel').addEventListener('click', () => controller?.abort());
  $('evaluate').addEventListener('click', () => void evaluate().catch(showError));
  $('download-json').addEventListener('click', () => {
    if (state.textRun) {
      download('attributions.json', new Blob([JSON.stringify({ model: state.name, runtime: runtime.name, ...textRunRecord(state.textRun) }, null, 1)], { type: 'application/json' }));
      return;
    }
    const r = state.result;
    if (!r) return;
    const plain = Object.fromEntries(Object.entries(r.attributions).map(([k, t]) => [k, { shape: t.dims, data: Array.from(t.data as Float32Array) }]));
    download('attributions.json', new Blob([JSON.stringify({ model: state.name, method: r.method, target: r.target, classes: r.classes, delta: r.delta, sum: r.sum, output: r.outputs, gradientSource: r.gradientSource, runtime: runtime.name, attributions: plain }, null, 1)], { type: 'application/json' }));
  });
  $('download-png').addEventListener('click', () => {
    const canvas = document.getElementById('heatmap') as HTMLCanvasElement | null;
    if (canvas) canvas.toBlob((b) => b && download('attributions.png', b));
  });
  const ep = await runtime.executionProvider().catch((e) => (showError(e), 'none'));
  $('ep').textContent = `runtime: ${runtime.name}`;
  window.__onnxExplain.ep = ep;
  window.__onnxExplain.ready = true;
}

void init().catch(showError);
