/**
 * The oracle for gradient rules: central finite differences of the forward
 * model in float64, element by element, compared with the gradient the
 * rewritten (float32) model returns.
 *
 * The forward function is evaluated in double precision on the same float32
 * inputs and weights (a float32 is a double, so this is the same function):
 * by onnxruntime on the model's float64 copy (float64.ts), or, for models
 * with an op whose double kernel onnxruntime-node lacks, by the float64
 * reference evaluators of reference64.ts. The choice is per op type
 * (oraclePath), never a fallback; reference64.test.ts checks both paths
 * against onnxruntime's float32 output on every case. The gradient under test
 * still comes from buildGradientModel on the float32 model, run by
 * onnxruntime in float32.
 *
 * Step: the central difference has truncation error h^2/6 |f'''| and rounding
 * error about delta/h, where delta is the absolute error of one evaluation of
 * f = sum(R * output) in double: |f| is at most ~10 and kernels lose a few
 * ulp per element, so delta ~ 1e-14. The total is smallest near
 * h = (3 delta / |f'''|)^(1/3) ~ 3e-5 for |f'''| ~ 1; FD_STEP = 1e-5 gives
 * ~2e-11 truncation plus ~1e-9 rounding per element, so the oracle is good to
 * ~1e-9 relative, far below the float32 rounding of the gradient under test
 * (1e-7 .. 1e-6). Cases whose inputs have a scale s < 1 pass a step scaled by
 * s (truncation goes as (h/s)^2). Piecewise-linear ops are exact: inputs stay
 * more than 0.003 away from kinks, far beyond the step.
 *
 * Tolerance: the relative L2 error of each input's gradient must be below
 * FD_TOLERANCE = 2e-6, 500x tighter than the float32 oracle's 1e-3 (h = 1e-2,
 * where float32 rounding alone was ~1e-4). What is left is the float32
 * rounding of the gradient model itself: over all of cases.ts the worst case
 * measures 2.8e-7 (LayerNormalization, small-scale input), most are below
 * 1e-7. A rule off by a relative 1e-5 fails every case; so does a wrong
 * attribute default that the default cases of cases.ts exercise.
 */
import {
  buildGradientModel,
  probeShapes,
  makeModel,
  GraphBuilder,
  DataType,
  type ModelProto,
  type Tensor,
  type Target,
} from '@onnx-explain/core';
import { OrtNodeRuntime } from '@onnx-explain/node';
import { float64Copy } from './float64';
import { evaluate64, oraclePath, type OraclePath, type T64 } from './reference64';

export const FD_TOLERANCE = 2e-6;
/** Central-difference step for inputs of order 1 (see above). */
export const FD_STEP = 1e-5;
export const runtime = new OrtNodeRuntime({ intraOpNumThreads: 1 });
/** The float64 oracle runs the graph as written: no fusions into float32-only contrib ops. */
export const runtime64 = new OrtNodeRuntime({ intraOpNumThreads: 1, graphOptimizationLevel: 'basic' });

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1; // [-1, 1)
  };
}

export type Gen = 'normal' | 'positive' | 'distinct' | 'distinct2' | 'distinct3' | 'awayFromZero';

/**
 * Random values. 'distinct' puts values near multiples of 0.07 (noise 0.003),
 * so no two are within 0.06 of each other (max-like ops do not switch under
 * the FD step); 'distinct2' and 'distinct3' are the same grid shifted by
 * 0.035 and 0.0175, for operands compared with each other. 'awayFromZero'
 * keeps |x| > 0.1.
 */
export function values(n: number, gen: Gen, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  if (gen.startsWith('distinct')) {
    const shift = gen === 'distinct2' ? 0.035 : gen === 'distinct3' ? 0.0175 : 0;
    const order = [...Array(n).keys()].sort(() => r());
    order.forEach((k, i) => (out[i] = (k - Math.floor(n / 2)) * 0.07 + shift + r() * 0.003));
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = r() * 2;
    if (gen === 'positive') out[i] = 0.3 + Math.abs(v);
    else if (gen === 'awayFromZero') out[i] = Math.sign(v || 1) * (0.1 + Math.abs(v));
    else out[i] = v;
  }
  return out;
}

export function tensor(dims: number[], gen: Gen = 'normal', seed = 1): Tensor {
  return { type: 'float32', dims, data: values(dims.reduce((a, b) => a * b, 1), gen, seed) };
}

/** y = sum(model_output * R) for a fixed random R: makes every output element matter differently. */
export function weighted(model: ModelProto, outShape: number[], seed = 99): ModelProto {
  const g = model.graph!;
  const y = g.output![0].name!;
  const b = new GraphBuilder('w');
  const r = b.constant(values(outShape.reduce((a, c) => a * c, 1), 'normal', seed), outShape, { name: 'fd_weights' });
  g.initializer = [...(g.initializer ?? []), ...b.initializers];
  g.node = [...(g.node ?? []), { opType: 'Mul', input: [y, r], output: ['fd_weighted'], name: 'fd_mul' }];
  g.output = [{ name: 'fd_weighted', type: { tensorType: { elemType: DataType.FLOAT } } }];
  return model;
}

/** Sum of the values, compensated (Neumaier), so the sum adds no rounding of its own. */
function sum64(data: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

const isFloat32 = (t: Tensor) => t.type === 'float32';

/** sum(first output) of a model, in float64, on the oracle path its ops call for. */
export interface Forward64 {
  path: OraclePath;
  /** float32 or float64 feeds; other types pass through */
  sum(feeds: Record<string, Tensor>): Promise<number>;
  release(): Promise<void>;
}

export async function forward64(model: ModelProto): Promise<Forward64> {
  const out = model.graph!.output![0].name!;
  const path = oraclePath(model);
  if (path === 'reference64') {
    return {
      path,
      sum: async (feeds) => {
        const f: Record<string, T64> = {};
        for (const [k, t] of Object.entries(feeds)) f[k] = { dims: [...t.dims], data: Float64Array.from(t.data as ArrayLike<number>, Number) };
        return sum64(evaluate64(model, f)[out].data);
      },
      release: async () => {},
    };
  }
  const session = await runtime64.createSession(float64Copy(model));
  return {
    path,
    sum: async (feeds) => {
      const f: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = isFloat32(t) ? { type: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) } : t;
      const res = (await session.run(f, [out]))[out];
      if (res.type !== 'float64') throw new Error(`float64 oracle: output '${out}' is ${res.type}`);
      return sum64(res.data as Float64Array);
    },
    release: () => session.release(),
  };
}

export interface GradCheck {
  relErr: Record<string, number>;
  graph: Record<string, Float32Array>;
  fd: Record<string, Float64Array>;
  /** how the oracle evaluated the forward model */
  path: OraclePath;
}

export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/**
 * Compares the float32 graph gradients of sum(output) with float64 central
 * differences, for every float32 input in `wrt`. Shapes are probed without
 * batch tiling (all static).
 */
export async function checkGradients(
  model: ModelProto,
  feeds: Record<string, Tensor>,
  wrt: string[],
  h = FD_STEP,
  /** Differentiate this model instead (a lowering of `model`); the oracle still runs `model`. */
  differentiated?: ModelProto,
): Promise<GradCheck> {
  const shapes = await probeShapes(runtime, differentiated ?? model, feeds, []);
  const gm = buildGradientModel(differentiated ?? model, { target: { kind: 'sum' } as Target, wrt, shapes });
  const gs = await runtime.createSession(gm.model);
  const fwd = await forward64(model);
  try {
    const res = await gs.run(feeds);
    const result: GradCheck = { relErr: {}, graph: {}, fd: {}, path: fwd.path };
    for (const w of wrt) {
      const g = res[gm.gradients[w]].data as Float32Array;
      const x = feeds[w];
      if (!isFloat32(x)) throw new Error(`checkGradients: input '${w}' is ${x.type}, not float32`);
      const x64 = Float64Array.from(x.data as Float32Array);
      const fd = new Float64Array(x64.length);
      for (let i = 0; i < x64.length; i++) {
        const plus = Float64Array.from(x64);
        const minus = Float64Array.from(x64);
        plus[i] += h;
        minus[i] -= h;
        const fp = await fwd.sum({ ...feeds, [w]: { type: 'float64', dims: x.dims, data: plus } });
        const fm = await fwd.sum({ ...feeds, [w]: { type: 'float64', dims: x.dims, data: minus } });
        // divide by the step actually taken (x +- h round)
        fd[i] = (fp - fm) / (plus[i] - minus[i]);
      }
      result.graph[w] = g;
      result.fd[w] = fd;
      result.relErr[w] = relL2(g, fd);
    }
    return result;
  } finally {
    await gs.release();
    await fwd.release();
  }
}

export { makeModel, GraphBuilder, DataType };
