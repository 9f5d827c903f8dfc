/**
 * Float64 reference evaluators for the ops whose double kernels
 * onnxruntime-node's CPU EP lacks (or types only as float), written from the
 * op definitions in ONNX's Operators.md and Changelog.md. They are the
 * finite-difference oracle's forward function for models that use these ops
 * (fd.ts); reference64.test.ts checks each of them against onnxruntime's
 * float32 output on every case that uses it.
 *
 * The path is chosen per op type, never by trying: a model containing any op
 * of REFERENCE_OPS (in its opset range) is evaluated here, node by node, and
 * every other model by onnxruntime on its float64 copy (float64.ts). Besides
 * the reference ops, the interpreter runs only the glue the tests put around
 * them (the Mul by fixed weights, Constant, Identity); any other node, and any
 * attribute value not implemented here, throws.
 *
 * Float attributes and their defaults are rounded to float32 (Math.fround),
 * as a runtime reading the float attribute sees them.
 */
import { attrFloat, attrFloats, attrInt, attrInts, attrString, attrStrings, tensorToArray, tensorDims, opsetVersion, toNumber, DataType, nodeLabel } from '@onnx-explain/core';
import type { ModelProto, NodeProto, TensorProto } from '@onnx-explain/core';

/** A tensor in the interpreter: every element type held as doubles (int64 values are small here). */
export interface T64 {
  dims: number[];
  data: Float64Array;
}

type Kernel = (inputs: (T64 | undefined)[], node: NodeProto, opset: number) => T64;
/** A kernel of an op with several outputs (the recurrent ops). */
type MultiKernel = (inputs: (T64 | undefined)[], node: NodeProto, opset: number) => T64[];

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const f32 = Math.fround;

function fail(node: NodeProto, what: string): never {
  throw new Error(`reference64: ${nodeLabel(node)}: ${what} is not implemented`);
}

function need(node: NodeProto, t: T64 | undefined, which: string): T64 {
  if (!t) throw new Error(`reference64: ${nodeLabel(node)}: missing input ${which}`);
  return t;
}

// ---------------------------------------------------------------------------
// erf in double precision

/**
 * erf in double precision, to about 1 ulp. For |x| < 2 the series
 * erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1 3 5 ... (2n+1))
 * (Abramowitz & Stegun 7.1.6): every term is positive, so nothing cancels.
 * For |x| >= 2, erf = 1 - erfc with Laplace's continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
 * (A&S 7.1.14), evaluated from 200 levels down, far past convergence there.
 * Both are smooth; where they meet they differ by ~1e-16, which moves a
 * central difference of step 1e-5 by ~1e-11.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2) {
    const x2 = 2 * ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  }
  let t = ax;
  for (let n = 200; n >= 1; n--) t = ax + n / 2 / t;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / t);
}

// ---------------------------------------------------------------------------
// element-wise

function unary(fn: (x: number, node: NodeProto, opset: number) => (v: number) => number): Kernel {
  return (ins, node, opset) => {
    const x = need(node, ins[0], 'X');
    const f = fn(0, node, opset);
    return { dims: [...x.dims], data: x.data.map(f) };
  };
}

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;
const FLT_MAX = 3.4028234663852886e38;

/** Multidirectional (numpy) broadcasting of several tensors with one element function. */
function broadcast(ts: T64[], fn: (vals: number[]) => number): T64 {
  const rank = Math.max(...ts.map((t) => t.dims.length));
  const dims = Array.from({ length: rank }, (_, i) => {
    let d = 1;
    for (const t of ts) {
      const k = t.dims.length - rank + i;
      const di = k >= 0 ? t.dims[k] : 1;
      if (di !== 1) {
        if (d !== 1 && d !== di) throw new Error(`reference64: shapes [${ts.map((u) => u.dims).join('] [')}] do not broadcast`);
        d = di;
      }
    }
    return d;
  });
  const n = size(dims);
  // per-input strides over the output index (0 on broadcast axes)
  const strides = ts.map((t) => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const k = t.dims.length - rank + i;
      if (k >= 0) {
        if (t.dims[k] !== 1) s[i] = acc;
        acc *= t.dims[k];
      }
    }
    return s;
  });
  const out = new Float64Array(n);
  const idx = new Array<number>(rank).fill(0);
  const vals = new Array<number>(ts.length);
  for (let flat = 0; flat < n; flat++) {
    for (let j = 0; j < ts.length; j++) {
      let off = 0;
      for (let i = 0; i < rank; i++) off += idx[i] * strides[j][i];
      vals[j] = ts[j].data[off];
    }
    out[flat] = fn(vals);
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
  return { dims, data: out };
}

// ---------------------------------------------------------------------------
// windows: Conv, ConvTranspose, AveragePool

/** Explicit pads for Conv and pooling (Operators.md, Conv / AveragePool auto_pad). */
function windowPads(node: NodeProto, inSpatial: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const n = inSpatial.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return attrInts(node, 'pads', new Array(2 * n).fill(0));
  if (autoPad === 'VALID') return new Array(2 * n).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') fail(node, `auto_pad '${autoPad}'`);
  const pads = new Array(2 * n).fill(0);
  for (let i = 0; i < n; i++) {
    // output = ceil(in / stride); the odd pad goes to the end (SAME_UPPER) or the beginning (SAME_LOWER)
    const out = Math.ceil(inSpatial[i] / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSpatial[i]);
    const half = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? half : total - half;
    pads[i + n] = total - pads[i];
  }
  return pads;
}

/** Row-major strides of dims. */
function stridesOf(dims: number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** Calls fn with each multi-index of dims (the array is reused). */
function forEachIndex(dims: number[], fn: (idx: number[]) => void): void {
  const n = size(dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(idx);
    for (let i = dims.length - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
}

const conv: Kernel = (ins, node) => {
  const x = need(node, ins[0], 'X');
  const w = need(node, ins[1], 'W');
  const b = ins[2];
  const [N, C, ...xs] = x.dims;
  const [M, Cg, ...kd] = w.dims;
  const n = xs.length;
  const kernel = attrInts(node, 'kernel_shape', kd);
  const strides = attrInts(node, 'strides', new Array(n).fill(1));
  const dilations = attrInts(node, 'dilations', new Array(n).fill(1));
  const group = attrInt(node, 'group', 1);
  const pads = windowPads(node, xs, kernel, strides, dilations);
  if (Cg * group !== C || M % group !== 0) throw new Error(`reference64: ${nodeLabel(node)}: channels do not fit the group`);
  const out = xs.map((s, i) => Math.floor((s + pads[i] + pads[i + n] - ((kernel[i] - 1) * dilations[i] + 1)) / strides[i]) + 1);
  const Mg = M / group;
  const y = new Float64Array(N * M * size(out));
  const xst = stridesOf(x.dims);
  const wst = stridesOf(w.dims);
  const os = size(out);
  for (let nb = 0; nb < N; nb++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      let o = 0;
      forEachIndex(out, (oi) => {
        let acc = b ? b.data[m] : 0;
        for (let c = 0; c < Cg; c++) {
          const xc = g * Cg + c;
          forEachIndex(kernel, (ki) => {
            let xo = nb * xst[0] + xc * xst[1];
            let wo = m * wst[0] + c * wst[1];
            for (let i = 0; i < n; i++) {
              const p = oi[i] * strides[i] - pads[i] + ki[i] * dilations[i];
              if (p < 0 || p >= xs[i]) return; // zero padding
              xo += p * xst[i + 2];
              wo += ki[i] * wst[i + 2];
            }
            acc += x.data[xo] * w.data[wo];
          });
        }
        y[(nb * M + m) * os + o++] = acc;
      });
    }
  }
  return { dims: [N, M, ...out], data: y };
};

const convTranspose: Kernel = (ins, node) => {
  const x = need(node, ins[0], 'X');
  const w = need(node, ins[1], 'W');
  const b = ins[2];
  const [N, C, ...xs] = x.dims;
  const [Cw, Mg, ...kd] = w.dims;
  const n = xs.length;
  const group = attrInt(node, 'group', 1);
  if (Cw !== C || C % group !== 0) throw new Error(`reference64: ${nodeLabel(node)}: channels do not fit the group`);
  const M = Mg * group;
  const Cg = C / group;
  const kernel = attrInts(node, 'kernel_shape', kd);
  const strides = attrInts(node, 'strides', new Array(n).fill(1));
  const dilations = attrInts(node, 'dilations', new Array(n).fill(1));
  const outputPadding = attrInts(node, 'output_padding', new Array(n).fill(0));
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let outputShape = attrInts(node, 'output_shape');
  if (outputShape && outputShape.length === n + 2) outputShape = outputShape.slice(2);
  // Operators.md, ConvTranspose: full = s (in - 1) + output_padding + (k - 1) d + 1
  const full = xs.map((s, i) => strides[i] * (s - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1);
  let pads: number[];
  let out: number[];
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    out = outputShape ?? xs.map((s, i) => s * strides[i]);
    pads = new Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const total = full[i] - out[i];
      const half = Math.floor(total / 2);
      if (autoPad === 'SAME_UPPER') [pads[i], pads[i + n]] = [half, total - half];
      else [pads[i], pads[i + n]] = [total - half, half];
    }
  } else {
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(node, `auto_pad '${autoPad}'`);
    pads = autoPad === 'VALID' ? new Array(2 * n).fill(0) : attrInts(node, 'pads', new Array(2 * n).fill(0));
    out = full.map((f, i) => f - pads[i] - pads[i + n]);
  }
  const os = size(out);
  const ost = stridesOf(out);
  const y = new Float64Array(N * M * os);
  for (let nb = 0; nb < N; nb++) {
    for (let m = 0; m < M; m++) y.fill(b ? b.data[m] : 0, (nb * M + m) * os, (nb * M + m + 1) * os);
  }
  const xst = stridesOf(x.dims);
  const wst = stridesOf(w.dims);
  for (let nb = 0; nb < N; nb++) {
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / Cg);
      forEachIndex(xs, (ii) => {
        let xo = nb * xst[0] + c * xst[1];
        for (let i = 0; i < n; i++) xo += ii[i] * xst[i + 2];
        const xv = x.data[xo];
        for (let m = 0; m < Mg; m++) {
          const yc = g * Mg + m;
          forEachIndex(kernel, (ki) => {
            let yo = (nb * M + yc) * os;
            let wo = c * wst[0] + m * wst[1];
            for (let i = 0; i < n; i++) {
              const p = ii[i] * strides[i] + ki[i] * dilations[i] - pads[i];
              if (p < 0 || p >= out[i]) return;
              yo += p * ost[i];
              wo += ki[i] * wst[i + 2];
            }
            y[yo] += xv * w.data[wo];
          });
        }
      });
    }
  }
  return { dims: [N, M, ...out], data: y };
};

/**
 * A pooling window walk shared by AveragePool and LpPool: for every output
 * position, the real input values under the window and how many positions
 * count (explicit pads included when asked). `dilationsSince`: the opset
 * that gave the op its dilations attribute.
 */
function poolWindows(x: T64, node: NodeProto, opset: number, dilationsSince: number, includePad: boolean, reduce: (values: number[], count: number) => number): T64 {
  const [N, C, ...xs] = x.dims;
  const n = xs.length;
  const kernel = attrInts(node, 'kernel_shape');
  if (!kernel) throw new Error(`reference64: ${nodeLabel(node)}: no kernel_shape`);
  const strides = attrInts(node, 'strides', new Array(n).fill(1));
  const dilations = opset >= dilationsSince ? attrInts(node, 'dilations', new Array(n).fill(1)) : new Array(n).fill(1);
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const pads = windowPads(node, xs, kernel, strides, dilations);
  const out = xs.map((s, i) => {
    const q = (s + pads[i] + pads[i + n] - ((kernel[i] - 1) * dilations[i] + 1)) / strides[i];
    let o = (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
    // "Sliding windows that would start in the right padded region are ignored."
    if (ceil && (o - 1) * strides[i] >= s + pads[i]) o--;
    return o;
  });
  const os = size(out);
  const xst = stridesOf(x.dims);
  const y = new Float64Array(N * C * os);
  for (let nc = 0; nc < N * C; nc++) {
    let o = 0;
    forEachIndex(out, (oi) => {
      const values: number[] = [];
      let count = 0;
      forEachIndex(kernel, (ki) => {
        let xo = nc * xst[1];
        let real = true;
        let counted = true;
        for (let i = 0; i < n; i++) {
          const p = oi[i] * strides[i] - pads[i] + ki[i] * dilations[i];
          if (p < 0 || p >= xs[i]) real = false;
          // count_include_pad counts the explicit pads, never the ceil-mode overflow past them
          if (p < -pads[i] || p >= xs[i] + pads[i + n]) counted = false;
          xo += p * xst[i + 2];
        }
        if (real) values.push(x.data[xo]);
        if (includePad ? counted : real) count++;
      });
      y[nc * os + o++] = reduce(values, count);
    });
  }
  return { dims: [N, C, ...out], data: y };
}

const averagePool: Kernel = (ins, node, opset) =>
  poolWindows(need(node, ins[0], 'X'), node, opset, 19, attrInt(node, 'count_include_pad', 0) === 1, (v, count) => v.reduce((a, b) => a + b, 0) / count);

/** LpPool: (sum of |x|^p over the window's real positions)^(1/p); dilations from opset 18. */
const lpPool: Kernel = (ins, node, opset) => {
  const p = attrInt(node, 'p', 2);
  return poolWindows(need(node, ins[0], 'X'), node, opset, 18, false, (v) => Math.pow(v.reduce((a, b) => a + Math.abs(b) ** p, 0), 1 / p));
};

function globalPool(max: boolean): Kernel {
  return (ins, node) => {
    const x = need(node, ins[0], 'X');
    const [N, C, ...xs] = x.dims;
    const s = size(xs);
    const y = new Float64Array(N * C);
    for (let nc = 0; nc < N * C; nc++) {
      let acc = max ? -Infinity : 0;
      for (let k = 0; k < s; k++) {
        const v = x.data[nc * s + k];
        acc = max ? Math.max(acc, v) : acc + v;
      }
      y[nc] = max ? acc : acc / s;
    }
    return { dims: [N, C, ...xs.map(() => 1)], data: y };
  };
}

/**
 * Standardises consecutive runs of `per` values (mean 0, variance 1 with eps
 * under the root), then maps each through `affine(run, k, z)`: the shared
 * core of InstanceNormalization (a run per channel) and GroupNormalization
 * (a run per group).
 */
function normalizeRuns(data: Float64Array, per: number, eps: number, affine: (run: number, k: number, z: number) => number): Float64Array {
  const y = new Float64Array(data.length);
  for (let run = 0; run * per < data.length; run++) {
    const base = run * per;
    let mean = 0;
    for (let k = 0; k < per; k++) mean += data[base + k];
    mean /= per;
    let v = 0;
    for (let k = 0; k < per; k++) v += (data[base + k] - mean) ** 2;
    v /= per;
    const inv = 1 / Math.sqrt(v + eps);
    for (let k = 0; k < per; k++) y[base + k] = affine(run, k, (data[base + k] - mean) * inv);
  }
  return y;
}

/**
 * GroupNormalization in float64: onnxruntime computes it in float32 whatever
 * the input type (stash_type defaults to float), so a double copy of the
 * model is no float64 oracle. Opset 18 scales per group, 21 per channel.
 */
const groupNormalization: Kernel = (ins, node, opset) => {
  const x = need(node, ins[0], 'X');
  const scale = need(node, ins[1], 'scale');
  const bias = need(node, ins[2], 'bias');
  const eps = f32(attrFloat(node, 'epsilon', 1e-5));
  const G = attrInt(node, 'num_groups');
  if (G === undefined) fail(node, 'no num_groups');
  const [, C, ...xs] = x.dims;
  const perChannel = size(xs);
  const data = normalizeRuns(x.data, (C / G!) * perChannel, eps, (run, k, z) => {
    const which = opset < 21 ? run % G! : (run % G!) * (C / G!) + Math.floor(k / perChannel);
    return scale.data[which] * z + bias.data[which];
  });
  return { dims: [...x.dims], data };
};

/**
 * MeanVarianceNormalization in float64 (its function body holds a float32
 * epsilon, so a double copy does not type-check): (x - E[x]) / (sqrt(E[x^2]
 * - E[x]^2) + 1e-9) over `axes` (default [0, 2, 3]).
 */
const meanVarianceNormalization: Kernel = (ins, node) => {
  const x = need(node, ins[0], 'X');
  const rank = x.dims.length;
  const axes = new Set(attrInts(node, 'axes', [0, 2, 3]).map((a) => (a < 0 ? a + rank : a)));
  const st = stridesOf(x.dims);
  const keyOf = (flat: number) => x.dims.map((d, a) => (axes.has(a) ? 0 : Math.floor(flat / st[a]) % d)).join(',');
  const groups = new Map<string, number[]>();
  for (let i = 0; i < x.data.length; i++) {
    const k = keyOf(i);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  const y = new Float64Array(x.data.length);
  for (const idx of groups.values()) {
    const m = idx.reduce((a, i) => a + x.data[i], 0) / idx.length;
    const m2 = idx.reduce((a, i) => a + x.data[i] * x.data[i], 0) / idx.length;
    const sd = Math.sqrt(m2 - m * m);
    for (const i of idx) y[i] = (x.data[i] - m) / (sd + f32(1e-9));
  }
  return { dims: [...x.dims], data: y };
};

/** LRN in float64 (onnxruntime has a float32 kernel only), from the spec's formula over the channel axis. */
const lrn: Kernel = (ins, node) => {
  const x = need(node, ins[0], 'X');
  const width = attrInt(node, 'size');
  if (width === undefined) fail(node, 'no size');
  const alpha = f32(attrFloat(node, 'alpha', 1e-4));
  const beta = f32(attrFloat(node, 'beta', 0.75));
  const bias = f32(attrFloat(node, 'bias', 1));
  const [N, C, ...rest] = x.dims;
  const s = size(rest);
  const lo = Math.floor((width! - 1) / 2);
  const hi = Math.ceil((width! - 1) / 2);
  const y = new Float64Array(x.data.length);
  for (let nb = 0; nb < N; nb++) {
    for (let ch = 0; ch < C; ch++) {
      for (let k = 0; k < s; k++) {
        let sq = 0;
        for (let j = Math.max(0, ch - lo); j <= Math.min(C - 1, ch + hi); j++) sq += x.data[(nb * C + j) * s + k] ** 2;
        const i = (nb * C + ch) * s + k;
        y[i] = x.data[i] / Math.pow(bias + (alpha / width!) * sq, beta);
      }
    }
  }
  return { dims: [...x.dims], data: y };
};

const instanceNormalization: Kernel = (ins, node) => {
  const x = need(node, ins[0], 'input');
  const scale = need(node, ins[1], 'scale');
  const bias = need(node, ins[2], 'B');
  const eps = f32(attrFloat(node, 'epsilon', 1e-5));
  const [, C, ...xs] = x.dims;
  const data = normalizeRuns(x.data, size(xs), eps, (run, _, z) => scale.data[run % C] * z + bias.data[run % C]);
  return { dims: [...x.dims], data };
};

// ---------------------------------------------------------------------------
// Resize and Upsample

type CoordFn = (o: number, inLen: number, outLen: number, scale: number) => number;

/**
 * Resize-11+ coordinate transformations (Operators.md, Resize), with scale
 * the axis's scale and outLen the integer output length; half_pixel_symmetric
 * as in Resize-19 (its "output_width" is scale * inLen, not rounded).
 */
const COORDS: Record<string, CoordFn> = {
  half_pixel: (o, _l, _n, s) => (o + 0.5) / s - 0.5,
  pytorch_half_pixel: (o, _l, n, s) => (n > 1 ? (o + 0.5) / s - 0.5 : 0),
  align_corners: (o, l, n) => (n === 1 ? 0 : (o * (l - 1)) / (n - 1)),
  asymmetric: (o, _l, _n, s) => o / s,
  tf_half_pixel_for_nn: (o, _l, _n, s) => (o + 0.5) / s,
  half_pixel_symmetric: (o, l, n, s) => {
    const adjustment = n / (s * l);
    const offset = (l / 2) * (1 - adjustment);
    return offset + (o + 0.5) / s - 0.5;
  },
};

const ROUNDING: Record<string, (v: number) => number> = {
  round_prefer_floor: (v) => (v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v)),
  round_prefer_ceil: (v) => (v - Math.floor(v) === 0.5 ? Math.ceil(v) : Math.round(v)),
  floor: Math.floor,
  ceil: Math.ceil,
};

/** Interpolates along one axis: out[..., o, ...] from in[..., i, ...] with the weights of (mode, coordinate). */
function resizeAxis(x: T64, axis: number, outLen: number, weights: (o: number) => [number, number][]): T64 {
  const dims = [...x.dims];
  const inLen = dims[axis];
  dims[axis] = outLen;
  const outer = size(x.dims.slice(0, axis));
  const inner = size(x.dims.slice(axis + 1));
  const y = new Float64Array(size(dims));
  for (let o = 0; o < outLen; o++) {
    const ws = weights(o);
    for (let a = 0; a < outer; a++) {
      for (let k = 0; k < inner; k++) {
        let acc = 0;
        for (const [i, wt] of ws) acc += wt * x.data[(a * inLen + i) * inner + k];
        y[(a * outLen + o) * inner + k] = acc;
      }
    }
  }
  return { dims, data: y };
}

/**
 * Separable nearest / linear resampling (the ONNX reference implementation
 * resizes one axis at a time the same way): nearest takes the rounded
 * coordinate, linear the two neighbours of the coordinate clamped to
 * [0, in - 1] (edge padding).
 */
function resample(x: T64, outDims: number[], scales: number[], mode: string, coord: CoordFn, round: (v: number) => number, node: NodeProto): T64 {
  let y = x;
  for (let axis = 0; axis < x.dims.length; axis++) {
    const inLen = x.dims[axis];
    const outLen = outDims[axis];
    if (inLen === outLen && scales[axis] === 1) continue;
    y = resizeAxis(y, axis, outLen, (o) => {
      const c = coord(o, inLen, outLen, scales[axis]);
      if (mode === 'nearest') return [[Math.min(Math.max(round(c), 0), inLen - 1), 1]];
      if (mode !== 'linear') fail(node, `mode '${mode}'`);
      const cc = Math.min(Math.max(c, 0), inLen - 1);
      const i0 = Math.floor(cc);
      const i1 = Math.min(i0 + 1, inLen - 1);
      return [[i0, 1 - (cc - i0)], [i1, cc - i0]];
    });
  }
  return y;
}

const resize: Kernel = (ins, node, opset) => {
  const x = need(node, ins[0], 'X');
  const rank = x.dims.length;
  const mode = attrString(node, 'mode', 'nearest');
  if (opset < 11) {
    // Resize-10: output = floor(in * scale); onnxruntime maps coordinates
    // asymmetrically (x / scale), nearest rounds down when upsampling and up
    // when downsampling (its "simple" mode; the spec does not say)
    const scales = [...need(node, ins[1], 'scales').data];
    const outDims = x.dims.map((d, i) => Math.floor(d * scales[i]));
    return resample10(x, outDims, scales, mode, node);
  }
  if (attrInt(node, 'antialias', 0) !== 0) fail(node, 'antialias');
  if (attrInt(node, 'exclude_outside', 0) !== 0) fail(node, 'exclude_outside');
  const coordName = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const coord = COORDS[coordName] ?? fail(node, `coordinate_transformation_mode '${coordName}'`);
  const nearestName = attrString(node, 'nearest_mode', 'round_prefer_floor');
  const round = ROUNDING[nearestName] ?? fail(node, `nearest_mode '${nearestName}'`);
  const axes = (opset >= 18 ? attrInts(node, 'axes') : undefined)?.map((a) => (a < 0 ? a + rank : a)) ?? [...Array(rank).keys()];
  const scalesIn = ins[2] && ins[2].data.length ? [...ins[2].data] : undefined;
  const sizesIn = ins[3] && ins[3].data.length ? [...ins[3].data] : undefined;
  if (!!scalesIn === !!sizesIn) throw new Error(`reference64: ${nodeLabel(node)}: exactly one of scales and sizes must be given`);
  const scales = new Array<number>(rank).fill(1);
  const outDims = [...x.dims];
  if (scalesIn) {
    axes.forEach((a, k) => {
      scales[a] = scalesIn[k];
      outDims[a] = Math.floor(x.dims[a] * scalesIn[k]);
    });
  } else {
    const policy = opset >= 18 ? attrString(node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
    const ratios = axes.map((a, k) => sizesIn![k] / x.dims[a]);
    if (policy === 'stretch') {
      axes.forEach((a, k) => {
        scales[a] = ratios[k];
        outDims[a] = sizesIn![k];
      });
    } else {
      if (policy !== 'not_larger' && policy !== 'not_smaller') fail(node, `keep_aspect_ratio_policy '${policy}'`);
      const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      for (const a of axes) {
        scales[a] = s;
        outDims[a] = Math.floor(s * x.dims[a] + 0.5); // round half up
      }
    }
  }
  return resample(x, outDims, scales, mode, coord, round, node);
};

/** Resize-10 and Upsample: asymmetric coordinates; nearest floors when upsampling, ceils when downsampling. */
function resample10(x: T64, outDims: number[], scales: number[], mode: string, node: NodeProto): T64 {
  let y = x;
  for (let axis = 0; axis < x.dims.length; axis++) {
    if (scales[axis] === 1) continue;
    const round = scales[axis] < 1 ? Math.ceil : Math.floor;
    const dims = y.dims.map((d, i) => (i === axis ? outDims[axis] : d));
    y = resample(y, dims, y.dims.map((_, i) => (i === axis ? scales[axis] : 1)), mode, COORDS.asymmetric, round, node);
  }
  return y;
}

const upsample: Kernel = (ins, node, opset) => {
  const x = need(node, ins[0], 'X');
  const mode = attrString(node, 'mode', 'nearest');
  const scales = opset >= 9 ? [...need(node, ins[1], 'scales').data] : attrFloats(node, 'scales');
  if (!scales) throw new Error(`reference64: ${nodeLabel(node)}: no scales`);
  if (scales.some((s) => s < 1)) throw new Error(`reference64: ${nodeLabel(node)}: Upsample scales must be >= 1`);
  return resample10(x, x.dims.map((d, i) => Math.floor(d * scales[i])), scales.map(f32), mode, node);
};

// ---------------------------------------------------------------------------
// LSTM, GRU, RNN: the equations of Operators.md, one row and one step at a time

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const ACTIVATION_DEFAULTS: Record<string, [number | undefined, number | undefined]> = {
  affine: [1, 0], leakyrelu: [0.01, undefined], thresholdedrelu: [1, undefined], scaledtanh: [1, 1], hardsigmoid: [0.2, 0.5], elu: [1, undefined],
};

function recurrentActivations(node: NodeProto, perDirection: string[], dirs: number): ((x: number) => number)[] {
  const names = attrStrings(node, 'activations') ?? Array.from({ length: dirs }, () => perDirection).flat();
  const alphas = [...(attrFloats(node, 'activation_alpha') ?? [])];
  const betas = [...(attrFloats(node, 'activation_beta') ?? [])];
  return names.map((raw) => {
    const name = raw.toLowerCase();
    const [da, db] = ACTIVATION_DEFAULTS[name] ?? [undefined, undefined];
    const a = f32(da === undefined ? 0 : alphas.length ? alphas.shift()! : da);
    const b = f32(db === undefined ? 0 : betas.length ? betas.shift()! : db);
    const fns: Record<string, (x: number) => number> = {
      sigmoid, tanh: Math.tanh, relu: (x) => Math.max(0, x), softsign: (x) => x / (1 + Math.abs(x)),
      softplus: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
      affine: (x) => a * x + b, leakyrelu: (x) => (x >= 0 ? x : a * x), thresholdedrelu: (x) => (x > a ? x : 0),
      scaledtanh: (x) => a * Math.tanh(b * x), hardsigmoid: (x) => Math.max(0, Math.min(1, a * x + b)), elu: (x) => (x < 0 ? a * Math.expm1(x) : x),
    };
    if (!fns[name]) fail(node, `activation '${raw}'`);
    return fns[name];
  });
}

function recurrent(kind: 'LSTM' | 'GRU' | 'RNN'): MultiKernel {
  return (ins, node) => {
    const g = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
    const H = attrInt(node, 'hidden_size', 0);
    const dir = attrString(node, 'direction', 'forward');
    const D = dir === 'bidirectional' ? 2 : 1;
    const layout = attrInt(node, 'layout', 0);
    const clipAt = attrFloat(node, 'clip');
    const clip = (v: number) => (clipAt === undefined ? v : Math.min(Math.max(v, -f32(clipAt)), f32(clipAt)));
    const acts = recurrentActivations(node, kind === 'LSTM' ? ['Sigmoid', 'Tanh', 'Tanh'] : kind === 'GRU' ? ['Sigmoid', 'Tanh'] : ['Tanh'], D);
    const per = acts.length / D;
    const [X, W, R, Bias, lens, h0, c0, P] = ins;
    const x = need(node, X, 'X');
    const [T, Bn, I] = layout ? [x.dims[1], x.dims[0], x.dims[2]] : x.dims;
    const xAt = (t: number, b: number, i: number) => x.data[(layout ? b * T + t : t * Bn + b) * I + i];
    const w = need(node, W, 'W').data;
    const r = need(node, R, 'R').data;
    const state = (s: T64 | undefined, d: number, b: number, j: number) => (s ? s.data[(layout ? b * D + d : d * Bn + b) * H + j] : 0);
    const Y = new Float64Array(T * D * Bn * H);
    const Yh = new Float64Array(D * Bn * H);
    const Yc = new Float64Array(D * Bn * H);
    const yIndex = (t: number, d: number, b: number, j: number) => (layout ? ((b * T + t) * D + d) * H + j : ((t * D + d) * Bn + b) * H + j);
    const sIndex = (d: number, b: number, j: number) => (layout ? (b * D + d) * H + j : (d * Bn + b) * H + j);
    const lbr = attrInt(node, 'linear_before_reset', 0) !== 0;
    const inputForget = attrInt(node, 'input_forget', 0) !== 0;
    for (let d = 0; d < D; d++) {
      const [f, gAct, hAct] = acts.slice(d * per, (d + 1) * per);
      const wb = (k: number) => (Bias ? Bias.data[d * 2 * g * H + k] : 0);
      const rb = (k: number) => (Bias ? Bias.data[d * 2 * g * H + g * H + k] : 0);
      const wx = (row: number, t: number, b: number) => { let s = 0; for (let i = 0; i < I; i++) s += w[(d * g * H + row) * I + i] * xAt(t, b, i); return s; };
      const rh = (row: number, h: ArrayLike<number>) => { let s = 0; for (let m = 0; m < H; m++) s += r[(d * g * H + row) * H + m] * h[m]; return s; };
      const p = (k: number, j: number) => (P ? P.data[d * 3 * H + k * H + j] : 0);
      for (let b = 0; b < Bn; b++) {
        const len = lens ? lens.data[b] : T;
        let h = Float64Array.from({ length: H }, (_, j) => state(h0, d, b, j));
        let c = Float64Array.from({ length: H }, (_, j) => state(c0, d, b, j));
        for (let k = 0; k < len; k++) {
          const t = dir === 'reverse' || d === 1 ? len - 1 - k : k;
          const hn = new Float64Array(H);
          const cn = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            const pre = (gate: number) => wx(gate * H + j, t, b) + rh(gate * H + j, h) + wb(gate * H + j) + rb(gate * H + j);
            if (kind === 'RNN') hn[j] = f(clip(pre(0)));
            else if (kind === 'LSTM') {
              const it = f(clip(pre(0) + p(0, j) * c[j]));
              const ft = inputForget ? 1 - it : f(clip(pre(2) + p(2, j) * c[j]));
              const ct = gAct(clip(pre(3)));
              cn[j] = ft * c[j] + it * ct;
              const ot = f(clip(pre(1) + p(1, j) * cn[j]));
              hn[j] = ot * hAct(cn[j]);
            } else {
              const z = f(clip(pre(0)));
              const rt = (m: number) => f(clip(wx(H + m, t, b) + rh(H + m, h) + wb(H + m) + rb(H + m)));
              let hPre: number;
              if (lbr) hPre = wx(2 * H + j, t, b) + wb(2 * H + j) + rt(j) * (rh(2 * H + j, h) + rb(2 * H + j));
              else hPre = wx(2 * H + j, t, b) + rh(2 * H + j, Float64Array.from(h, (v, m) => rt(m) * v)) + wb(2 * H + j) + rb(2 * H + j);
              hn[j] = (1 - z) * gAct(clip(hPre)) + z * h[j];
            }
          }
          for (let j = 0; j < H; j++) Y[yIndex(t, d, b, j)] = hn[j];
          h = hn;
          if (kind === 'LSTM') c = cn;
        }
        for (let j = 0; j < H; j++) {
          Yh[sIndex(d, b, j)] = h[j];
          Yc[sIndex(d, b, j)] = c[j];
        }
      }
    }
    const sDims = layout ? [Bn, D, H] : [D, Bn, H];
    const outs = [{ dims: layout ? [Bn, T, D, H] : [T, D, Bn, H], data: Y }, { dims: sDims, data: Yh }];
    if (kind === 'LSTM') outs.push({ dims: sDims, data: Yc });
    return outs;
  };
}

// ---------------------------------------------------------------------------
// GridSample (4-D): the grid unnormalised, taps read through the padding

/** Round half to even (nearbyint), which GridSample's nearest mode uses. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const gridSample: Kernel = (ins, node, opset) => {
  const x = need(node, ins[0], 'X');
  const g = need(node, ins[1], 'grid');
  if (x.dims.length !== 4) fail(node, 'a GridSample over other than 2 spatial axes');
  const mode = attrString(node, 'mode', opset >= 20 ? 'linear' : 'bilinear');
  const padding = attrString(node, 'padding_mode', 'zeros');
  const align = attrInt(node, 'align_corners', 0) === 1;
  const [N, C, H, W] = x.dims;
  const [, Ho, Wo] = g.dims;
  const denorm = (v: number, n: number) => (align ? ((v + 1) / 2) * (n - 1) : ((v + 1) * n - 1) / 2);
  const reflect = (t: number, lo: number, hi: number) => {
    const range = hi - lo;
    if (t < lo) {
      const d = lo - t;
      const k = Math.floor(d / range);
      const r = d - k * range;
      return k % 2 === 0 ? lo + r : hi - r;
    }
    if (t > hi) {
      const d = t - hi;
      const k = Math.floor(d / range);
      const r = d - k * range;
      return k % 2 === 0 ? hi - r : lo + r;
    }
    return t;
  };
  const pixel = (n: number, c: number, yy: number, xx: number) => {
    if (padding === 'border') {
      xx = Math.min(Math.max(xx, 0), W - 1);
      yy = Math.min(Math.max(yy, 0), H - 1);
    } else if (padding === 'reflection') {
      xx = Math.trunc(reflect(xx, align ? 0 : -0.5, align ? W - 1 : W - 0.5));
      yy = Math.trunc(reflect(yy, align ? 0 : -0.5, align ? H - 1 : H - 0.5));
    }
    if (xx < 0 || xx > W - 1 || yy < 0 || yy > H - 1) return 0;
    return x.data[((n * C + c) * H + yy) * W + xx];
  };
  const out = new Float64Array(N * C * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < Ho * Wo; p++) {
      const cx = denorm(g.data[(n * Ho * Wo + p) * 2], W);
      const cy = denorm(g.data[(n * Ho * Wo + p) * 2 + 1], H);
      for (let c = 0; c < C; c++) {
        let v: number;
        if (mode === 'nearest') v = pixel(n, c, roundHalfEven(cy), roundHalfEven(cx));
        else if (mode === 'bilinear' || mode === 'linear') {
          const x0 = Math.floor(cx);
          const y0 = Math.floor(cy);
          const ax = cx - x0;
          const ay = cy - y0;
          v = (1 - ax) * (1 - ay) * pixel(n, c, y0, x0) + ax * (1 - ay) * pixel(n, c, y0, x0 + 1) + (1 - ax) * ay * pixel(n, c, y0 + 1, x0) + ax * ay * pixel(n, c, y0 + 1, x0 + 1);
        } else fail(node, `mode '${mode}'`);
        out[(n * C + c) * Ho * Wo + p] = v;
      }
    }
  }
  return { dims: [N, C, Ho, Wo], data: out };
};

// ---------------------------------------------------------------------------
// RotaryEmbedding (opset 23): pairs of each head's first features rotated by the cached angles

const rotaryEmbedding: Kernel = (ins, node) => {
  const x = need(node, ins[0], 'input');
  const cosC = need(node, ins[1], 'cos_cache');
  const sinC = need(node, ins[2], 'sin_cache');
  const pos = ins[3];
  const rank = x.dims.length;
  const [B, A, Bc, Dc] = rank === 4 ? x.dims : [x.dims[0], x.dims[1], 0, x.dims[2]];
  // index as [b, s, n, j] over a [B, S, N, h] view
  const N = rank === 4 ? A : attrInt(node, 'num_heads', 0);
  const S = rank === 4 ? Bc : A;
  const h = rank === 4 ? Dc : Dc / N;
  const at = (b: number, s: number, n: number, j: number) => (rank === 4 ? ((b * N + n) * S + s) * h + j : (b * S + s) * N * h + n * h + j);
  const rd = attrInt(node, 'rotary_embedding_dim', 0) || h;
  const half = rd / 2;
  const interleaved = attrInt(node, 'interleaved', 0) === 1;
  const angle = (cache: T64, b: number, s: number, i: number) => {
    if (pos) return cache.data[pos.data[b * S + s] * half + i];
    return cache.data[(b * S + s) * half + i];
  };
  const out = Float64Array.from(x.data);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let n = 0; n < N; n++)
        for (let i = 0; i < half; i++) {
          const [j1, j2] = interleaved ? [2 * i, 2 * i + 1] : [i, i + half];
          const x1 = x.data[at(b, s, n, j1)];
          const x2 = x.data[at(b, s, n, j2)];
          const c = angle(cosC, b, s, i);
          const sn = angle(sinC, b, s, i);
          out[at(b, s, n, j1)] = c * x1 - sn * x2;
          out[at(b, s, n, j2)] = sn * x1 + c * x2;
        }
  return { dims: [...x.dims], data: out };
};

// ---------------------------------------------------------------------------
// the table

export interface ReferenceOp {
  /** opsets (inclusive) for which the op goes to this evaluator */
  since?: number;
  until?: number;
  run: Kernel | MultiKernel;
}

export const REFERENCE_OPS: Record<string, ReferenceOp> = {
  Erf: { run: unary(() => erf) },
  // onnxruntime has float32 kernels only for most of these
  Tan: { run: unary(() => Math.tan) },
  Asin: { run: unary(() => Math.asin) },
  Acos: { run: unary(() => Math.acos) },
  Atan: { run: unary(() => Math.atan) },
  Sinh: { run: unary(() => Math.sinh) },
  Cosh: { run: unary(() => Math.cosh) },
  Asinh: { run: unary(() => Math.asinh) },
  Acosh: { run: unary(() => Math.acosh) },
  Atanh: { run: unary(() => Math.atanh) },
  Mish: { run: unary(() => (x) => x * Math.tanh(x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))) },
  ThresholdedRelu: {
    run: unary((_, node) => {
      const alpha = f32(attrFloat(node, 'alpha', 1));
      return (x) => (x > alpha ? x : 0);
    }),
  },
  Shrink: {
    run: unary((_, node) => {
      const lambd = f32(attrFloat(node, 'lambd', 0.5));
      const bias = f32(attrFloat(node, 'bias', 0));
      return (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0);
    }),
  },
  Softplus: { run: unary(() => (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))) },
  Softsign: { run: unary(() => (x) => x / (1 + Math.abs(x))) },
  HardSigmoid: {
    run: unary((_, node) => {
      const alpha = f32(attrFloat(node, 'alpha', 0.2));
      const beta = f32(attrFloat(node, 'beta', 0.5));
      return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    }),
  },
  HardSwish: { run: unary(() => (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))) },
  Elu: {
    run: unary((_, node) => {
      const alpha = f32(attrFloat(node, 'alpha', 1));
      return (x) => (x < 0 ? alpha * Math.expm1(x) : x);
    }),
  },
  Selu: {
    run: unary((_, node) => {
      const alpha = f32(attrFloat(node, 'alpha', SELU_ALPHA));
      const gamma = f32(attrFloat(node, 'gamma', SELU_GAMMA));
      return (x) => (x > 0 ? gamma * x : gamma * alpha * Math.expm1(x));
    }),
  },
  Celu: {
    run: unary((_, node) => {
      const alpha = f32(attrFloat(node, 'alpha', 1));
      return (x) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha));
    }),
  },
  Gelu: {
    run: unary((_, node) => {
      const approximate = attrString(node, 'approximate', 'none');
      if (approximate === 'tanh') return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
      if (approximate !== 'none') fail(node, `approximate '${approximate}'`);
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    }),
  },
  // Clip-6 takes its bounds as attributes (default: the float range), Clip-11
  // as optional inputs; onnxruntime-node has double kernels from Clip-12 on
  Clip: {
    until: 11,
    run: (ins, node, opset) => {
      const x = need(node, ins[0], 'input');
      const lo = opset < 11 ? f32(attrFloat(node, 'min', -FLT_MAX)) : ins[1] ? ins[1].data[0] : -Infinity;
      const hi = opset < 11 ? f32(attrFloat(node, 'max', FLT_MAX)) : ins[2] ? ins[2].data[0] : Infinity;
      return { dims: [...x.dims], data: x.data.map((v) => Math.min(Math.max(v, lo), hi)) };
    },
  },
  Mean: {
    run: (ins, node) => {
      const ts = ins.map((t, i) => need(node, t, `data_${i}`));
      return broadcast(ts, (v) => v.reduce((a, b) => a + b, 0) / v.length);
    },
  },
  Conv: { run: conv },
  ConvTranspose: { run: convTranspose },
  AveragePool: { run: averagePool },
  LpPool: { run: lpPool },
  GlobalAveragePool: { run: globalPool(false) },
  GlobalMaxPool: { run: globalPool(true) },
  InstanceNormalization: { run: instanceNormalization },
  GroupNormalization: { since: 18, run: groupNormalization },
  MeanVarianceNormalization: { run: meanVarianceNormalization },
  LRN: { run: lrn },
  Resize: { run: resize },
  Upsample: { until: 9, run: upsample },
  // onnxruntime's GridSample and RotaryEmbedding have float32 kernels only
  GridSample: { since: 16, run: gridSample },
  RotaryEmbedding: { since: 23, run: rotaryEmbedding },
  // onnxruntime has float32 kernels only, and no batch-major layout
  LSTM: { run: recurrent('LSTM') },
  GRU: { run: recurrent('GRU') },
  RNN: { run: recurrent('RNN') },
};

/** Ops the interpreter also runs, around reference ops; they never choose the path. */
const GLUE: Record<string, Kernel> = {
  Mul: (ins, node) => broadcast([need(node, ins[0], 'A'), need(node, ins[1], 'B')], ([a, b]) => a * b),
  Add: (ins, node) => broadcast([need(node, ins[0], 'A'), need(node, ins[1], 'B')], ([a, b]) => a + b),
  Tanh: (ins, node) => { const x = need(node, ins[0], 'input'); return { dims: [...x.dims], data: x.data.map(Math.tanh) }; },
  Identity: (ins, node) => need(node, ins[0], 'input'),
  // flattening only ([-1]), and Concat of flat tensors: what test/grad/lower.test.ts wraps around a recurrent op
  Reshape: (ins, node) => {
    const x = need(node, ins[0], 'data');
    const shape = need(node, ins[1], 'shape');
    if (shape.data.length !== 1 || shape.data[0] !== -1) fail(node, 'a Reshape other than to [-1]');
    return { dims: [x.data.length], data: x.data };
  },
  Concat: (ins, node) => {
    const ts = ins.map((t, i) => need(node, t, `input ${i}`));
    if (ts.some((t) => t.dims.length !== 1)) fail(node, 'a Concat of tensors that are not 1-D');
    const data = new Float64Array(ts.reduce((a, t) => a + t.data.length, 0));
    let at = 0;
    for (const t of ts) { data.set(t.data, at); at += t.data.length; }
    return { dims: [data.length], data };
  },
};

function isDefaultDomain(node: NodeProto): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

/** Whether the node's op (at this opset) is evaluated by REFERENCE_OPS. */
export function usesReference(node: NodeProto, opset: number): boolean {
  const r = isDefaultDomain(node) ? REFERENCE_OPS[node.opType ?? ''] : undefined;
  return !!r && opset >= (r.since ?? 1) && opset <= (r.until ?? Infinity);
}

export type OraclePath = 'reference64' | 'onnxruntime-float64';

/** The forward path of the float64 oracle: reference64 as soon as one node needs it. */
export function oraclePath(model: ModelProto): OraclePath {
  const opset = opsetVersion(model) ?? 1;
  return (model.graph?.node ?? []).some((n) => usesReference(n, opset)) ? 'reference64' : 'onnxruntime-float64';
}

function fromTensorProto(t: TensorProto): T64 {
  const code = t.dataType ?? 0;
  if (code === DataType.STRING) throw new Error(`reference64: tensor '${t.name}' holds strings`);
  const arr = tensorToArray(t) as ArrayLike<number | bigint>;
  return { dims: tensorDims(t), data: Float64Array.from(arr as ArrayLike<number>, (v) => Number(v)) };
}

/**
 * Runs the model's graph in float64: feeds (graph inputs) and initializers
 * become doubles exactly, nodes run in order. Returns every graph output.
 */
export function evaluate64(model: ModelProto, feeds: Record<string, T64>): Record<string, T64> {
  const g = model.graph!;
  const opset = opsetVersion(model) ?? 1;
  const values = new Map<string, T64>();
  for (const t of g.initializer ?? []) values.set(t.name ?? '', fromTensorProto(t));
  for (const [k, v] of Object.entries(feeds)) values.set(k, v);
  for (const node of g.node ?? []) {
    let out: T64;
    if (node.opType === 'Constant' && isDefaultDomain(node)) {
      const a = node.attribute?.[0];
      if (a?.name === 'value' && a.t) out = fromTensorProto(a.t);
      else if (a?.name === 'value_float') out = { dims: [], data: Float64Array.of(f32(a.f ?? 0)) };
      else if (a?.name === 'value_floats') out = { dims: [a.floats?.length ?? 0], data: Float64Array.from(a.floats ?? [], f32) };
      else if (a?.name === 'value_int') out = { dims: [], data: Float64Array.of(toNumber(a.i ?? 0)) };
      else if (a?.name === 'value_ints') out = { dims: [a.ints?.length ?? 0], data: Float64Array.from(a.ints ?? [], (v) => toNumber(v)) };
      else fail(node, `a Constant with attribute '${a?.name}'`);
    } else {
      const ins = (node.input ?? []).map((name) => {
        if (!name) return undefined;
        const v = values.get(name);
        if (!v) throw new Error(`reference64: ${nodeLabel(node)}: input '${name}' has no value`);
        return v;
      });
      const ref = usesReference(node, opset) ? REFERENCE_OPS[node.opType!].run : isDefaultDomain(node) ? GLUE[node.opType ?? ''] : undefined;
      if (!ref) fail(node, `op ${node.domain ? node.domain + '::' : ''}${node.opType} at opset ${opset}`);
      const res = ref(ins, node, opset);
      if (Array.isArray(res)) {
        (node.output ?? []).forEach((o, i) => o && values.set(o, res[i]));
        continue;
      }
      out = res;
    }
    if ((node.output ?? []).filter(Boolean).length !== 1) fail(node, 'a node with more than one output');
    values.set(node.output![0], out);
  }
  const res: Record<string, T64> = {};
  for (const o of g.output ?? []) {
    const v = values.get(o.name ?? '');
    if (!v) throw new Error(`reference64: graph output '${o.name}' is not computed`);
    res[o.name!] = v;
  }
  return res;
}
