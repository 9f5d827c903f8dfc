/**
 * What the perturbation methods share (occlusion, feature ablation and
 * permutation, Shapley sampling, KernelSHAP, LIME): they only run the model,
 * never a gradient, on copies of each example with some elements replaced.
 *
 * Every perturbed copy is a row of a batch; one method's rows go through a
 * forward-only engine (engine.ts, source 'none') in runs of up to
 * internalBatchSize rows, with progress and cancellation. Rows keep the
 * inputs' own types, so token ids and bytes are perturbed as they are.
 */
import type { Tensor } from '../runtime';
import type { TypedArray } from '../onnx/tensor';
import type { Explainer, CommonOptions } from './explainer';
import type { GradientEngine } from './engine';
import { resultBase, type AttributionResult } from './common';
import { rowSize, isTensor } from './tensors';
import { featureMasks, type ExampleFeatures, type FeatureMaskSpec } from './featureMask';

/** What replaces a perturbed element: 0, a constant (a pad or unk token id), or a tensor (one row, or one per example). */
export type ReplacementValue = 'zeros' | number | Tensor;

export interface PerturbationOptions extends CommonOptions {
  /** What a removed feature becomes (Captum's `baselines`): per attributed input, or one for all. Default zeros. */
  baselines?: ReplacementValue | Record<string, ReplacementValue>;
  /** Which elements go together (Captum's `feature_mask`, see featureMask.ts). Default: each element alone. */
  featureMask?: FeatureMaskSpec;
  /** Seed of everything random the method draws. */
  seed?: number;
}

/** A method's setup: the examples, target, engine, and each input as the engine takes it. */
export interface PerturbationSetup {
  explainer: Explainer;
  engine: GradientEngine;
  batch: number;
  classes?: number[];
  /** Every model input, batch first. */
  feeds: Record<string, Tensor>;
  attributed: string[];
}

export async function perturbationSetup(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions): Promise<PerturbationSetup> {
  // NaN inputs are missing values, which a model may take (a tree ensemble's missing-value track); an output made NaN by them is refused with the result
  const batch = explainer.validate(inputs, { missingValues: true });
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch, 'forward');
  const engine = await explainer.engine(inputs, opts, target, 'forward');
  const feeds = await explainer.modelFeeds(engine, inputs);
  return { explainer, engine, batch, classes, feeds, attributed: engine.attributed };
}

const ctorOf = (t: Tensor) => t.data.constructor as new (n: number) => TypedArray;

/** Writes a number into a typed array of any element type (bigint for int64). */
function put(out: TypedArray, i: number, v: number | bigint): void {
  if (out instanceof BigInt64Array) out[i] = typeof v === 'bigint' ? v : BigInt(Math.round(v));
  else (out as Float32Array)[i] = Number(v);
}

/**
 * Rows of `count` values shaped like x's rows, typed like x: a constant, or
 * a tensor of one row (repeated) or `count` rows. `what` names it in errors.
 */
export function rowsLike(value: ReplacementValue, x: Tensor, count: number, what: string): TypedArray {
  const per = rowSize(x);
  const out = new (ctorOf(x))(count * per);
  if (value === 'zeros') return out;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${what} is ${value}: it must be a finite number`);
    for (let i = 0; i < out.length; i++) put(out, i, value);
    return out;
  }
  if (!isTensor(value)) throw new Error(`${what} must be 'zeros', a number or a tensor`);
  const row = x.dims.slice(1);
  const tPer = rowSize(value);
  const sameRow = value.dims.length === row.length && value.dims.every((d, i) => d === row[i]);
  const rows = sameRow ? 1 : tPer === per && value.dims.length === row.length + 1 && value.dims.slice(1).every((d, i) => d === row[i]) ? value.dims[0] : -1;
  if (rows !== 1 && rows !== count) {
    throw new Error(`${what} has shape [${value.dims.join(', ')}], expected [${row.join(', ')}], [1, ${row.join(', ')}] or [${count}, ${row.join(', ')}]`);
  }
  const src = value.data as ArrayLike<number | bigint>;
  for (let r = 0; r < count; r++) {
    const from = (rows === 1 ? 0 : r) * per;
    for (let i = 0; i < per; i++) {
      const v = src[from + i];
      // rows of data may hold missing values (NaN), never infinities
      if (typeof v === 'number' && !Number.isFinite(v) && !Number.isNaN(v)) throw new RangeError(`${what} holds ${v} at flat index ${from + i}`);
      put(out, r * per + i, v);
    }
  }
  return out;
}

/** The replacement of every attributed input, one row per example. */
export function replacements(setup: PerturbationSetup, baselines: PerturbationOptions['baselines']): Record<string, TypedArray> {
  const out: Record<string, TypedArray> = {};
  const single = baselines === undefined || baselines === 'zeros' || typeof baselines === 'number' || isTensor(baselines);
  if (!single) {
    for (const k of Object.keys(baselines)) if (!setup.attributed.includes(k)) throw new Error(`baseline given for '${k}', which is not attributed (attributed: ${setup.attributed.join(', ')})`);
  }
  for (const name of setup.attributed) {
    const value = single ? ((baselines ?? 'zeros') as ReplacementValue) : (baselines as Record<string, ReplacementValue>)[name] ?? 'zeros';
    out[name] = rowsLike(value, setup.feeds[name], setup.batch, `the baseline for '${name}'`);
  }
  return out;
}

/** The features of every example (see featureMask.ts). */
export function features(setup: PerturbationSetup, spec: FeatureMaskSpec | undefined): ExampleFeatures[] {
  return featureMasks(spec, setup.feeds, setup.attributed, setup.batch);
}

/**
 * The rows a method asks for: row j copies example `example(j)` and then
 * `perturb` rewrites the attributed tensors' values in place.
 */
export interface PerturbedRows {
  count: number;
  example(j: number): number;
  perturb(j: number, name: string, row: TypedArray): void;
}

/** Rows laid out example after example, `sizes[e]` rows for example e: where each block starts, and the example of a row. */
export function blocks(sizes: number[]): { starts: number[]; count: number; exampleOf(j: number): number } {
  const starts: number[] = [];
  let count = 0;
  for (const n of sizes) {
    starts.push(count);
    count += n;
  }
  const exampleOf = (j: number) => {
    // the last block starting at or before j
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= j) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  return { starts, count, exampleOf };
}

/** Copies the elements of `from` whose feature is off (on[id] == 0) into `row`. */
export function applyCoalition(row: TypedArray, ids: Int32Array, on: Uint8Array, from: TypedArray): void {
  for (let i = 0; i < ids.length; i++) if (!on[ids[i]]) (row as Float32Array)[i] = (from as Float32Array)[i];
}

/** A row view of a batch-first typed array. */
export function rowOf(data: TypedArray, r: number, per: number): TypedArray {
  return data.subarray(r * per, (r + 1) * per) as TypedArray;
}

/** The explained value F for each requested row, through the forward engine in batches. */
export async function evaluate(setup: PerturbationSetup, rows: PerturbedRows, opts: CommonOptions, phase: string): Promise<Float64Array> {
  const { feeds, attributed, classes } = setup;
  const rowsOf = (start: number, n: number) => {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      const per = rowSize(v);
      const data = new (ctorOf(v))(n * per);
      for (let j = 0; j < n; j++) {
        const e = rows.example(start + j);
        (data as Float32Array).set(rowOf(v.data, e, per) as Float32Array, j * per);
        if (attributed.includes(k)) rows.perturb(start + j, k, rowOf(data, j, per));
      }
      out[k] = { type: v.type, dims: [n, ...v.dims.slice(1)], data };
    }
    return { feeds: out, classes: classes && Array.from({ length: n }, (_, j) => classes[rows.example(start + j)]) };
  };
  const { selected } = await setup.explainer.runRows(setup.engine, rows.count, rowsOf, opts, phase, false);
  return selected;
}

/**
 * The usual layout of a method's rows: example after example, `sizes[e]` rows
 * for example e, row k of example e made by `perturb(e, k, name, row)` from a
 * copy of the example. Returns F per row, and where each example's rows start.
 */
export async function evaluateBlocks(
  setup: PerturbationSetup,
  sizes: number[],
  perturb: (e: number, k: number, name: string, row: TypedArray) => void,
  opts: CommonOptions,
  phase: string,
): Promise<{ values: Float64Array; starts: number[]; count: number }> {
  const { starts, count, exampleOf } = blocks(sizes);
  const values = await evaluate(
    setup,
    {
      count,
      example: exampleOf,
      perturb: (j, name, row) => {
        const e = exampleOf(j);
        perturb(e, j - starts[e], name, row);
      },
    },
    opts,
    phase,
  );
  return { values, starts, count };
}

/** Spreads each example's feature values over the elements of its features (Captum's return shape). */
export function spreadFeatures(setup: PerturbationSetup, feats: ExampleFeatures[], values: Float64Array[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const name of setup.attributed) {
    const x = setup.feeds[name];
    const per = rowSize(x);
    const data = new Float32Array(setup.batch * per);
    for (let e = 0; e < setup.batch; e++) {
      const ids = feats[e].ids[name];
      for (let i = 0; i < per; i++) data[e * per + i] = values[e][ids[i]];
    }
    out[name] = { type: 'float32', dims: [...x.dims], data };
  }
  return out;
}

/** What a perturbation method's result adds to the common part. */
export interface PerturbationResultExtras {
  /** Model evaluations (rows run) the explanation took, over all examples. */
  evaluations: number;
  /** Per example, one value per feature (the attributions before they are spread over the feature's elements). */
  featureAttributions?: number[][];
}

/**
 * The common result. With features of several elements the element sum
 * counts each feature once per element, so `sum` is the sum over features
 * (the quantity the Shapley methods' efficiency speaks of).
 */
export function perturbationResult(
  method: string,
  setup: PerturbationSetup,
  opts: CommonOptions,
  attributions: Record<string, Tensor>,
  outputs: Float64Array,
  evaluations: number,
  featureValues?: Float64Array[],
): AttributionResult & PerturbationResultExtras {
  const base = resultBase(method, setup.explainer, setup.engine, opts.target, setup.classes, attributions, outputs, opts.internalBatchSize);
  const res: AttributionResult & PerturbationResultExtras = { ...base, evaluations };
  if (featureValues) {
    res.featureAttributions = featureValues.map((v) => Array.from(v));
    res.sum = featureValues.map((v) => v.reduce((a, b) => a + b, 0));
  }
  return res;
}
