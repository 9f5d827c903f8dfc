/**
 * LSTM, GRU and RNN unrolled over the sequence length the probe found, in
 * MatMul, Add, Mul, Split, Concat and the gate activations (ONNX
 * Operators.md, LSTM/GRU/RNN; every direction, activation with its alpha and
 * beta, clip, peepholes, input_forget, linear_before_reset, sequence_lens,
 * initial states and layout).
 *
 * The input projection X W^T + Wb + Rb is one MatMul over all steps; each
 * step adds H_{t-1} R^T and applies the gates. Steps are taken apart with
 * Split and put together with Concat, whose gradients are each other, so the
 * backward graph stays linear in the sequence length (a Slice per step would
 * pad every step's gradient back to the whole sequence). Rows shorter than
 * the sequence (sequence_lens) keep their state past their end and output
 * zeros there, by a 0/1 mask per step, which is what onnxruntime computes.
 */
import { DataType } from '../../onnx/types';
import { Attr } from '../../onnx/builder';
import { attrFloat, attrFloats, attrInt, attrString, attrStrings, nodeLabel } from '../../onnx/attributes';
import { GradientError, type Emitter } from '../emitter';
import { registerLowering, type LowerContext } from './registry';

/** Whether an activation takes alpha / beta from activation_alpha / activation_beta, and their defaults. */
const ACTIVATION_PARAMS: Record<string, { alpha?: number; beta?: number }> = {
  relu: {}, tanh: {}, sigmoid: {}, softsign: {}, softplus: {},
  affine: { alpha: 1, beta: 0 },
  leakyrelu: { alpha: 0.01 },
  thresholdedrelu: { alpha: 1 },
  scaledtanh: { alpha: 1, beta: 1 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
  elu: { alpha: 1 },
};

interface Activation {
  name: string;
  alpha: number;
  beta: number;
}

/**
 * The activations of a node, with alpha and beta consumed in order by the
 * activations that take them (as onnxruntime's rnn_helpers reads them).
 */
function activations(c: LowerContext, defaults: string[], directions: number): Activation[] {
  const names = attrStrings(c.node, 'activations') ?? [];
  const list = names.length ? names : Array.from({ length: directions }, () => defaults).flat();
  if (list.length !== defaults.length * directions) {
    throw new GradientError(`${nodeLabel(c.node)}: ${list.length} activations given, ${defaults.length * directions} expected (${defaults.length} per direction)`);
  }
  const alphas = [...(attrFloats(c.node, 'activation_alpha') ?? [])];
  const betas = [...(attrFloats(c.node, 'activation_beta') ?? [])];
  return list.map((raw) => {
    const name = raw.toLowerCase();
    const params = ACTIVATION_PARAMS[name];
    if (!params) throw new GradientError(`${nodeLabel(c.node)}: activation '${raw}' is not one the ONNX spec lists for recurrent ops`);
    const alpha = params.alpha !== undefined ? (alphas.length ? alphas.shift()! : params.alpha) : 0;
    const beta = params.beta !== undefined ? (betas.length ? betas.shift()! : params.beta) : 0;
    return { name, alpha, beta };
  });
}

function applyActivation(e: Emitter, a: Activation, x: string, type: number): string {
  const k = (v: number) => e.constF([v], [], type);
  switch (a.name) {
    case 'relu': return e.op('Relu', [x]);
    case 'tanh': return e.op('Tanh', [x]);
    case 'sigmoid': return e.op('Sigmoid', [x]);
    case 'softsign': return e.op('Softsign', [x]);
    case 'softplus': return e.op('Softplus', [x]);
    case 'affine': return e.add(e.mul(x, k(a.alpha)), k(a.beta));
    case 'leakyrelu': return e.op('LeakyRelu', [x], { alpha: Attr.float(a.alpha) });
    case 'scaledtanh': return e.mul(k(a.alpha), e.op('Tanh', [e.mul(x, k(a.beta))]));
    case 'hardsigmoid': return e.op('HardSigmoid', [x], { alpha: Attr.float(a.alpha), beta: Attr.float(a.beta) });
    case 'elu': return e.op('Elu', [x], { alpha: Attr.float(a.alpha) });
    case 'thresholdedrelu':
      // an op from opset 10; x where x > alpha, else 0, in any opset
      return e.mul(x, e.op('Cast', [e.op('Greater', [x, k(a.alpha)])], { to: type }));
    default: throw new GradientError(`activation '${a.name}' has no lowering`);
  }
}

/**
 * Split of x into n pieces of size 1 along an axis (kept, not squeezed: a
 * Squeeze per step costs a Reshape per step in the backward graph, and
 * onnxruntime's session set-up grows with the square of a chain of those),
 * at most 7 outputs a node (WebGPU binds each).
 */
function unstack(e: Emitter, x: string, axis: number, n: number): string[] {
  const split = (t: string, sizes: number[]): string[] => {
    if (sizes.length === 1) return [t];
    return e.opset >= 13
      ? e.opN('Split', [t, e.constI64(sizes)], sizes.length, { axis })
      : e.opN('Split', [t], sizes.length, { axis, split: sizes });
  };
  const pieces = (t: string, count: number): string[] => {
    if (count <= 7) return split(t, Array(count).fill(1));
    const size = Math.ceil(count / 7);
    const sizes: number[] = [];
    for (let left = count; left > 0; left -= size) sizes.push(Math.min(size, left));
    return split(t, sizes).flatMap((p, i) => pieces(p, sizes[i]));
  };
  return pieces(x, n);
}

/** n equal parts of x along an axis (of size n * part): the gates, [1, B, H] each. */
function gates(e: Emitter, x: string, n: number, part: number, axis = 2): string[] {
  return e.opset >= 13
    ? e.opN('Split', [x, e.constI64(Array(n).fill(part))], n, { axis })
    : e.opN('Split', [x], n, { axis, split: Array(n).fill(part) });
}

/** Clip to [-clip, clip] (the gates' pre-activations), as the opset writes Clip. */
function clipped(e: Emitter, x: string, clip: number | undefined, type: number): string {
  if (clip === undefined) return x;
  if (e.opset >= 11) return e.op('Clip', [x, e.constF([-clip], [], type), e.constF([clip], [], type)]);
  return e.op('Clip', [x], { min: -clip, max: clip });
}

interface Recurrence {
  c: LowerContext;
  kind: 'LSTM' | 'GRU' | 'RNN';
  /** Gates per direction in W's rows (LSTM 4: i o f c; GRU 3: z r h; RNN 1). */
  gateCount: number;
  defaults: string[];
  /**
   * One step for one direction: the projected input (X_t W^T + biases, [1,
   * B, gates*H]), the previous state ([1, B, H]; undefined: zeros), and the
   * direction's weights; returns the new hidden state (and cell state for
   * LSTM), [1, B, H].
   */
  step: (s: StepInput) => { h: string; cell?: string };
}

interface StepInput {
  e: Emitter;
  xw: string;
  hPrev?: string;
  cPrev?: string;
  /** R^T of the direction, [H, gates*H]. */
  rT: string;
  /** Rb of the direction, [gates*H], for GRU's linear_before_reset. */
  rb?: string;
  /** Peepholes [3H] (LSTM). */
  p?: string;
  acts: Activation[];
  hidden: number;
  type: number;
}

function lowerRecurrence(r: Recurrence): (string | undefined)[] {
  const { c, kind, gateCount } = r;
  const e = c.e;
  const node = c.node;
  const [X, W, R, B, seqLens, initH, initC] = c.x;
  const hidden = attrInt(node, 'hidden_size');
  if (!hidden) throw new GradientError(`${nodeLabel(node)}: ${kind} without hidden_size`);
  const direction = attrString(node, 'direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) throw new GradientError(`${nodeLabel(node)}: unknown direction '${direction}'`);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const layout = attrInt(node, 'layout', 0);
  const acts = activations(c, r.defaults, dirs);
  const type = e.elemType(X);
  const xDims = e.shape(X);
  // time-major X: [T, B, I]
  const xT = layout === 1 ? e.transpose(X, [1, 0, 2]) : X;
  const steps = xDims[layout === 1 ? 1 : 0];
  if (typeof steps !== 'number') {
    throw new GradientError(`${nodeLabel(node)}: the sequence length is [${xDims.join(', ')}][${layout === 1 ? 1 : 0}], not fixed at one size; it cannot be unrolled`);
  }
  const gatherDir = (t: string, d: number) => e.op('Gather', [t, e.constI64([d], [])], { axis: 0 });
  // sequence_lens: a 0/1 mask per step, [1, B, 1]
  const lens = seqLens ? seqLens : undefined;
  const maskAt = (t: number) => {
    if (!lens) return undefined;
    const lensType = e.shapes.get(lens)?.type ?? e.index.elemType(lens) ?? DataType.INT32;
    const tConst = lensType === DataType.INT64 ? e.constI64([t], []) : int32Scalar(e, t);
    return e.unsqueeze(e.op('Cast', [e.op('Less', [tConst, lens])], { to: type }), [0, 2]);
  };
  const ys: string[] = [];
  const hs: string[] = [];
  const cs: string[] = [];
  for (let d = 0; d < dirs; d++) {
    const reverse = direction === 'reverse' || d === 1;
    const wT = e.transpose(gatherDir(W, d), [1, 0]);
    const rT = e.transpose(gatherDir(R, d), [1, 0]);
    let xw = e.op('MatMul', [xT, wT]);
    let rb: string | undefined;
    if (B) {
      const bd = gatherDir(B, d);
      const wb = e.slice(bd, [0], [gateCount * hidden], [0]);
      rb = e.slice(bd, [gateCount * hidden], [2 * gateCount * hidden], [0]);
      // GRU with linear_before_reset keeps Rbh inside the reset product: add all of Rb but its h part here
      if (kind === 'GRU' && attrInt(node, 'linear_before_reset', 0)) {
        xw = e.add(xw, e.add(wb, e.concat([e.slice(rb, [0], [2 * hidden], [0]), e.constF(Array(hidden).fill(0), [hidden], type)], 0)));
      } else {
        xw = e.add(xw, e.add(wb, rb));
      }
    }
    const p = kind === 'LSTM' && c.x[7] ? gatherDir(c.x[7], d) : undefined;
    const xs = unstack(e, xw, 0, steps);
    // initial states are [D, B, H], or [B, D, H] in layout 1; this direction's, [1, B, H]
    const initial = (s: string) => e.slice(layout === 1 ? e.transpose(s, [1, 0, 2]) : s, [d], [d + 1], [0]);
    let h = initH ? initial(initH) : undefined;
    let cell = kind === 'LSTM' && initC ? initial(initC) : undefined;
    const out: string[] = Array(steps);
    const dirActs = acts.slice(d * r.defaults.length, (d + 1) * r.defaults.length);
    for (let k = 0; k < steps; k++) {
      const t = reverse ? steps - 1 - k : k;
      const next = r.step({ e, xw: xs[t], hPrev: h, cPrev: cell, rT, rb, p, acts: dirActs, hidden, type });
      const m = maskAt(t);
      if (m) {
        // past a row's end: keep the state, output zeros
        const keep = (fresh: string, prev: string | undefined) =>
          prev ? e.add(e.mul(m, fresh), e.mul(e.sub(e.constF([1], [], type), m), prev)) : e.mul(m, fresh);
        out[t] = e.mul(m, next.h);
        h = keep(next.h, h);
        if (next.cell) cell = keep(next.cell, cell);
      } else {
        out[t] = next.h;
        h = next.h;
        cell = next.cell;
      }
    }
    ys.push(e.unsqueeze(e.concat(out, 0), [1]));
    hs.push(h!);
    if (cell) cs.push(cell);
  }
  let y = e.concat(ys, 1); // [T, D, B, H]
  let yh = e.concat(hs, 0); // [D, B, H]
  let yc = cs.length ? e.concat(cs, 0) : undefined;
  if (layout === 1) {
    y = e.transpose(y, [2, 0, 1, 3]);
    yh = e.transpose(yh, [1, 0, 2]);
    if (yc) yc = e.transpose(yc, [1, 0, 2]);
  }
  return kind === 'LSTM' ? [y, yh, yc] : [y, yh];
}

function int32Scalar(e: Emitter, v: number): string {
  // Emitter's constants are float or int64; sequence_lens is int32 in the spec
  return e.op('Cast', [e.constI64([v], [])], { to: DataType.INT32 });
}

/** The recurrent product H_{t-1} R^T, absent at a zero state. */
const recur = (s: StepInput) => (s.hPrev ? s.e.op('MatMul', [s.hPrev, s.rT]) : undefined);

registerLowering('LSTM', (c) => {
  const clip = attrFloat(c.node, 'clip');
  const inputForget = attrInt(c.node, 'input_forget', 0) !== 0;
  return lowerRecurrence({
    c,
    kind: 'LSTM',
    gateCount: 4,
    defaults: ['Sigmoid', 'Tanh', 'Tanh'],
    step: (s) => {
      const { e, type, hidden } = s;
      const [f, g, h] = s.acts;
      const rh = recur(s);
      const pre = rh ? e.add(s.xw, rh) : s.xw;
      let [i, o, fg, cc] = gates(e, pre, 4, hidden);
      let pi: string | undefined, po: string | undefined, pf: string | undefined;
      if (s.p) [pi, po, pf] = gates(e, s.p, 3, hidden, 0);
      if (pi && s.cPrev) i = e.add(i, e.mul(pi, s.cPrev));
      const it = applyActivation(e, f, clipped(e, i, clip, type), type);
      let ft: string;
      if (inputForget) ft = e.sub(e.constF([1], [], type), it);
      else {
        if (pf && s.cPrev) fg = e.add(fg, e.mul(pf, s.cPrev));
        ft = applyActivation(e, f, clipped(e, fg, clip, type), type);
      }
      const ct = applyActivation(e, g, clipped(e, cc, clip, type), type);
      const cell = s.cPrev ? e.add(e.mul(ft, s.cPrev), e.mul(it, ct)) : e.mul(it, ct);
      if (po) o = e.add(o, e.mul(po, cell));
      const ot = applyActivation(e, f, clipped(e, o, clip, type), type);
      return { h: e.mul(ot, applyActivation(e, h, cell, type)), cell };
    },
  });
});

registerLowering('GRU', (c) => {
  const clip = attrFloat(c.node, 'clip');
  const linearBeforeReset = attrInt(c.node, 'linear_before_reset', 0) !== 0;
  return lowerRecurrence({
    c,
    kind: 'GRU',
    gateCount: 3,
    defaults: ['Sigmoid', 'Tanh'],
    step: (s) => {
      const { e, type, hidden } = s;
      const [f, g] = s.acts;
      const [xz, xr, xh] = gates(e, s.xw, 3, hidden);
      let z = xz;
      let r = xr;
      let rh: string | undefined;
      if (s.hPrev) {
        // the z and r columns of H R^T; the h columns depend on linear_before_reset
        const [rz, rr, rhh] = gates(e, e.op('MatMul', [s.hPrev, s.rT]), 3, hidden);
        z = e.add(z, rz);
        r = e.add(r, rr);
        rh = rhh;
      }
      const zt = applyActivation(e, f, clipped(e, z, clip, type), type);
      const rt = applyActivation(e, f, clipped(e, r, clip, type), type);
      let hPre = xh;
      if (s.hPrev) {
        if (linearBeforeReset) {
          const rbh = s.rb ? e.slice(s.rb, [2 * hidden], [3 * hidden], [0]) : undefined;
          hPre = e.add(hPre, e.mul(rt, rbh ? e.add(rh!, rbh) : rh!));
        } else {
          // (r * H) Rh^T: the h block of R^T applied to the reset state
          const rhT = e.slice(s.rT, [2 * hidden], [3 * hidden], [1]);
          hPre = e.add(hPre, e.op('MatMul', [e.mul(rt, s.hPrev), rhT]));
        }
      } else if (linearBeforeReset && s.rb) {
        hPre = e.add(hPre, e.mul(rt, e.slice(s.rb, [2 * hidden], [3 * hidden], [0])));
      }
      const ht = applyActivation(e, g, clipped(e, hPre, clip, type), type);
      // H = (1 - z) h + z H_{t-1}
      const one = e.constF([1], [], type);
      const h = s.hPrev ? e.add(e.mul(e.sub(one, zt), ht), e.mul(zt, s.hPrev)) : e.mul(e.sub(one, zt), ht);
      return { h };
    },
  });
});

registerLowering('RNN', (c) => {
  const clip = attrFloat(c.node, 'clip');
  return lowerRecurrence({
    c,
    kind: 'RNN',
    gateCount: 1,
    defaults: ['Tanh'],
    step: (s) => {
      const rh = recur(s);
      const pre = rh ? s.e.add(s.xw, rh) : s.xw;
      return { h: applyActivation(s.e, s.acts[0], clipped(s.e, pre, clip, s.type), s.type) };
    },
  });
});
