/**
 * GridSample (opset 16 and 20, 4-D): bilinear and nearest sampling with
 * zeros, border and reflection padding, as onnxruntime and the ONNX
 * reference compute it: the grid is unnormalised to pixel coordinates
 * (align_corners decides how), the taps around each coordinate are read
 * through the padding (a tap outside reads 0, the clamped pixel, or the
 * reflected one), and the weights come from the coordinate itself.
 *
 * With respect to X, each output position's taps get dY times their weight:
 * without Scatter, a [P, H*W] matrix of weights per example (one-hot rows
 * per tap, weighted) and dX = dY [C, P] times it, so it is refused past
 * MAX_SAMPLING_MATRIX elements. With respect to the grid (bilinear), the
 * weights' derivatives times the taps' values, read by GatherElements.
 * Bicubic is refused by name.
 */
import { registerGradient, type GradContext } from '../registry';
import { attrInt, attrString, nodeLabel } from '../../onnx/attributes';
import { DataType } from '../../onnx/types';
import { GradientError, type Emitter } from '../emitter';

/** Most elements of the per-example sampling matrix ([output positions, input pixels]) the X gradient builds. */
export const MAX_SAMPLING_MATRIX = 1 << 24;

/**
 * The tap index along one axis of size n, as padding maps it (float in,
 * float out): zeros leaves it (the caller masks it), border clamps it,
 * reflection folds it back between lo and hi, the borders align_corners
 * sets.
 */
function padTap(e: Emitter, t: string, n: number, padding: string, align: boolean, like: string): string {
  const k = (v: number) => e.constF([v], [], like);
  if (padding === 'border') return e.op('Min', [e.op('Max', [t, k(0)]), k(n - 1)]);
  if (padding !== 'reflection') return t;
  const lo = align ? 0 : -0.5;
  const hi = align ? n - 1 : n - 0.5;
  const range = hi - lo;
  if (range <= 0) return k(0);
  // distance past the nearer border, in whole ranges (n) and the rest (r)
  const below = e.op('Less', [t, k(lo)]);
  const above = e.op('Greater', [t, k(hi)]);
  const d = e.op('Where', [below, e.sub(k(lo), t), e.op('Where', [above, e.sub(t, k(hi)), k(0)])]);
  const whole = e.op('Floor', [e.div(d, k(range))]);
  const r = e.sub(d, e.mul(whole, k(range)));
  const even = e.op('Equal', [e.sub(whole, e.mul(e.op('Floor', [e.div(whole, k(2))]), k(2))), k(0)]);
  const fromLo = e.add(k(lo), r);
  const fromHi = e.sub(k(hi), r);
  // taps are whole numbers and lo, hi are whole or half: what folds back is whole again (onnxruntime's cast to an integer changes nothing)
  return e.op('Where', [below, e.op('Where', [even, fromLo, fromHi]), e.op('Where', [above, e.op('Where', [even, fromHi, fromLo]), t])]);
}

registerGradient('GridSample', (c: GradContext) => {
  const e = c.e;
  const [X, grid] = c.x;
  const mode = attrString(c.node, 'mode', c.opset >= 20 ? 'linear' : 'bilinear');
  const padding = attrString(c.node, 'padding_mode', 'zeros');
  const align = attrInt(c.node, 'align_corners', 0) === 1;
  const xDims = e.shape(X);
  if (xDims.length !== 4) throw new GradientError(`${nodeLabel(c.node)}: GridSample over ${xDims.length - 2} spatial axes has no gradient rule (4-D only)`);
  const linear = mode === 'bilinear' || mode === 'linear';
  if (!linear && mode !== 'nearest') throw new GradientError(`${nodeLabel(c.node)}: GridSample in '${mode}' mode has no gradient rule`);
  if (!['zeros', 'border', 'reflection'].includes(padding)) throw new GradientError(`${nodeLabel(c.node)}: padding_mode '${padding}' is not one GridSample has`);
  const [H, W] = e.spatialDims(X, c.node);
  const gDims = e.shape(grid);
  const [Ho, Wo] = [gDims[1], gDims[2]];
  if (typeof Ho !== 'number' || typeof Wo !== 'number') throw new GradientError(`${nodeLabel(c.node)}: the grid's spatial size is not fixed ([${gDims.join(', ')}])`);
  const P = Ho * Wo;
  const k = (v: number) => e.constF([v], [], X);
  // pixel coordinates [N, P]
  const coord = (axis: number, n: number) => {
    const g = e.reshape(e.slice(grid, [axis], [axis + 1], [3]), [-1, P]);
    return align ? e.mul(e.add(g, k(1)), k((n - 1) / 2)) : e.mul(e.sub(e.mul(e.add(g, k(1)), k(n)), k(1)), k(0.5));
  };
  const ix = coord(0, W);
  const iy = coord(1, H);
  // taps: [coordinate along x, along y, weight], weights from the coordinate itself
  type Tap = { x: string; y: string; w: string };
  const taps: Tap[] = [];
  let fx: string | undefined;
  let fy: string | undefined;
  if (linear) {
    const x0 = e.op('Floor', [ix]);
    const y0 = e.op('Floor', [iy]);
    fx = e.sub(ix, x0);
    fy = e.sub(iy, y0);
    const x1 = e.add(x0, k(1));
    const y1 = e.add(y0, k(1));
    const gx = e.sub(k(1), fx);
    const gy = e.sub(k(1), fy);
    taps.push({ x: x0, y: y0, w: e.mul(gx, gy) }, { x: x1, y: y0, w: e.mul(fx, gy) }, { x: x0, y: y1, w: e.mul(gx, fy) }, { x: x1, y: y1, w: e.mul(fx, fy) });
  } else {
    // round half to even, as onnxruntime's nearbyint
    taps.push({ x: e.op('Round', [ix]), y: e.op('Round', [iy]), w: e.expandLike(k(1), ix) });
  }
  // each tap's flat pixel index (clamped into range: an invalid one reads nothing, by its mask) and validity
  const flat = taps.map((t) => {
    const px = padTap(e, t.x, W, padding, align, X);
    const py = padTap(e, t.y, H, padding, align, X);
    const inside = e.castLike(
      e.op('And', [
        e.op('And', [e.op('GreaterOrEqual', [px, k(0)]), e.op('LessOrEqual', [px, k(W - 1)])]),
        e.op('And', [e.op('GreaterOrEqual', [py, k(0)]), e.op('LessOrEqual', [py, k(H - 1)])]),
      ]),
      X,
    );
    const cx = e.op('Min', [e.op('Max', [px, k(0)]), k(W - 1)]);
    const cy = e.op('Min', [e.op('Max', [py, k(0)]), k(H - 1)]);
    const index = e.op('Cast', [e.add(e.mul(cy, k(W)), cx)], { to: DataType.INT64 }); // [N, P]
    return { index, inside };
  });
  const C = xDims[1];
  if (typeof C !== 'number') throw new GradientError(`${nodeLabel(c.node)}: the channel count of '${X}' is not fixed`);
  const dy = e.reshape(c.dY[0]!, [-1, C, P]);
  const out: (string | undefined)[] = [undefined, undefined];
  if (c.needs[0]) {
    if (P * H * W > MAX_SAMPLING_MATRIX) {
      throw new GradientError(`${nodeLabel(c.node)}: the gradient with respect to '${X}' needs a [${P}, ${H * W}] sampling matrix per example, over the limit of ${MAX_SAMPLING_MATRIX} elements`);
    }
    const pixels = e.constI64([...Array(H * W).keys()], [1, 1, H * W]);
    const parts = taps.map((t, i) =>
      e.mul(e.unsqueeze(e.mul(t.w, flat[i].inside), [2]), e.castLike(e.op('Equal', [e.unsqueeze(flat[i].index, [2]), pixels]), X)),
    );
    const S = e.sumAll(parts); // [N, P, H*W]
    out[0] = e.reshapeLike(e.op('MatMul', [dy, S]), X);
  }
  if (c.needs[1] && linear) {
    // d out / d ix and d iy from the four taps' values (0 for a tap outside under zeros padding)
    const xf = e.reshape(X, [-1, C, H * W]);
    const v = flat.map((f) => e.mul(e.op('GatherElements', [xf, e.expandLike(e.unsqueeze(f.index, [1]), dy)], { axis: 2 }), e.unsqueeze(f.inside, [1])));
    const gx = e.sub(k(1), fx!);
    const gy = e.sub(k(1), fy!);
    const u = (t: string) => e.unsqueeze(t, [1]);
    const dOutDx = e.add(e.mul(u(gy), e.sub(v[1], v[0])), e.mul(u(fy!), e.sub(v[3], v[2])));
    const dOutDy = e.add(e.mul(u(gx), e.sub(v[2], v[0])), e.mul(u(fx!), e.sub(v[3], v[1])));
    const scaleX = align ? (W - 1) / 2 : W / 2;
    const scaleY = align ? (H - 1) / 2 : H / 2;
    const dgx = e.scale(e.reduceSum(e.mul(dy, dOutDx), [1], false), scaleX); // [N, P]
    const dgy = e.scale(e.reduceSum(e.mul(dy, dOutDy), [1], false), scaleY);
    out[1] = e.reshapeLike(e.concat([e.unsqueeze(dgx, [2]), e.unsqueeze(dgy, [2])], 2), grid);
  }
  return out;
}, { since: 16 });
