/**
 * The oracle for gradient rules: central finite differences through
 * onnxruntime-node on the original (forward) model, computed element by
 * element, compared with the gradient the rewritten model returns.
 *
 * Tolerance: models are float32, so the difference quotient carries a
 * rounding error of about eps32 * |f| / h. With h = 1e-2 and |f| of order 10
 * that is ~1e-4 relative; the truncation error is O(h^2) ~ 1e-4 relative for
 * smooth ops and zero for piecewise-linear ones (inputs are kept more than h
 * away from kinks). Cases must agree to a relative L2 error below 1e-3
 * (FD_TOLERANCE); each case reports its error.
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

export const FD_TOLERANCE = 1e-3;
export const runtime = new OrtNodeRuntime({ intraOpNumThreads: 1 });

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

async function scalar(session: Awaited<ReturnType<typeof runtime.createSession>>, feeds: Record<string, Tensor>, out: string): Promise<number> {
  const res = await session.run(feeds, [out]);
  let s = 0;
  for (const v of res[out].data as Float32Array) s += v;
  return s;
}

export interface GradCheck {
  relErr: Record<string, number>;
  graph: Record<string, Float32Array>;
  fd: Record<string, Float32Array>;
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
 * Compares graph gradients of sum(output) with central differences, for every
 * float input in `wrt`. Shapes are probed without batch tiling (all static).
 */
export async function checkGradients(model: ModelProto, feeds: Record<string, Tensor>, wrt: string[], h = 1e-2): Promise<GradCheck> {
  const shapes = await probeShapes(runtime, model, feeds, []);
  const gm = buildGradientModel(model, { target: { kind: 'sum' } as Target, wrt, shapes });
  const gs = await runtime.createSession(gm.model);
  const fwd = await runtime.createSession(model);
  const out = model.graph!.output![0].name!;
  try {
    const res = await gs.run(feeds);
    const result: GradCheck = { relErr: {}, graph: {}, fd: {} };
    for (const w of wrt) {
      const g = res[gm.gradients[w]].data as Float32Array;
      const x = feeds[w];
      const fd = new Float32Array(x.data.length);
      for (let i = 0; i < x.data.length; i++) {
        const plus = Float32Array.from(x.data as Float32Array);
        const minus = Float32Array.from(x.data as Float32Array);
        plus[i] += h;
        minus[i] -= h;
        const fp = await scalar(fwd, { ...feeds, [w]: { ...x, data: plus } }, out);
        const fm = await scalar(fwd, { ...feeds, [w]: { ...x, data: minus } }, out);
        fd[i] = (fp - fm) / (2 * h);
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
