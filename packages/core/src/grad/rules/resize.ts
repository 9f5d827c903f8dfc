/**
 * Resize (and the older Upsample), nearest and linear modes. For fixed scales
 * or sizes both are linear maps that act on each axis separately, so the
 * interpolation matrix M [out, in] of each resized axis is computed here from
 * Operators.md's coordinate transformation, and the gradient applies M^T axis
 * by axis as a MatMul. Cubic mode and antialiasing have no rule.
 */
import { registerGradient, type GradContext } from '../registry';
import { attrFloats, attrInt, attrInts, attrString, nodeLabel } from '../../onnx/attributes';
import { GradientError } from '../emitter';

type Coord = (x: number, inLen: number, outLen: number, scale: number) => number;

const COORDS: Record<string, Coord> = {
  half_pixel: (x, _l, _o, s) => (x + 0.5) / s - 0.5,
  pytorch_half_pixel: (x, _l, o, s) => (o > 1 ? (x + 0.5) / s - 0.5 : 0),
  align_corners: (x, l, o) => (o === 1 ? 0 : (x * (l - 1)) / (o - 1)),
  asymmetric: (x, _l, _o, s) => x / s,
  half_pixel_symmetric: (x, l, o, s) => {
    const adjustment = o / (s * l);
    const offset = (l / 2) * (1 - adjustment);
    return offset + (x + 0.5) / s - 0.5;
  },
};

const ROUND: Record<string, (v: number) => number> = {
  round_prefer_floor: (v) => (v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v)),
  round_prefer_ceil: (v) => (v - Math.floor(v) === 0.5 ? Math.ceil(v) : Math.round(v)),
  floor: Math.floor,
  ceil: Math.ceil,
};

/**
 * Nearest rounding for Resize-10 and Upsample, whose spec does not say:
 * onnxruntime rounds up when an axis shrinks and down when it grows (its
 * "simple" mode), and the gradient must follow what the forward pass did.
 */
const SIMPLE = 'simple';
const roundingFor = (nearestMode: string, scale: number) => (nearestMode === SIMPLE ? (scale < 1 ? 'ceil' : 'floor') : nearestMode);

export function interpolationMatrix(
  mode: 'nearest' | 'linear',
  inLen: number,
  outLen: number,
  scale: number,
  coord: Coord,
  nearestMode: string,
): Float32Array {
  const m = new Float32Array(outLen * inLen);
  for (let o = 0; o < outLen; o++) {
    const x = coord(o, inLen, outLen, scale);
    if (mode === 'nearest') {
      const i = Math.min(Math.max(ROUND[nearestMode](x), 0), inLen - 1);
      m[o * inLen + i] = 1;
    } else {
      const xc = Math.min(Math.max(x, 0), inLen - 1);
      const i0 = Math.floor(xc);
      const i1 = Math.min(i0 + 1, inLen - 1);
      const w1 = xc - i0;
      m[o * inLen + i0] += 1 - w1;
      m[o * inLen + i1] += w1;
    }
  }
  return m;
}

/**
 * With sizes, the scale of each axis is out / in, except under
 * keep_aspect_ratio_policy not_larger / not_smaller (opset 18), where one
 * scale, the smallest or largest ratio, applies to every resized axis.
 */
function policyScale(c: GradContext, sizes: number[], axes: number[], inDims: (number | string)[]): number[] {
  const ratios = axes.map((a, k) => sizes[k] / (inDims[a] as number));
  const policy = attrString(c.node, 'keep_aspect_ratio_policy', 'stretch');
  if (policy === 'stretch') return ratios;
  const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
  return ratios.map(() => s);
}

function resizeGrad(c: GradContext, scalesIn: number[] | undefined, sizesIn: number[] | undefined, mode: string, coordName: string, nearestMode: string) {
  const e = c.e;
  if (mode !== 'nearest' && mode !== 'linear') throw new GradientError(`${nodeLabel(c.node)}: Resize in '${mode}' mode has no gradient rule`);
  const coord = COORDS[coordName];
  if (!coord) throw new GradientError(`${nodeLabel(c.node)}: coordinate_transformation_mode '${coordName}' has no gradient rule`);
  if (!ROUND[nearestMode] && nearestMode !== SIMPLE) throw new GradientError(`${nodeLabel(c.node)}: nearest_mode '${nearestMode}' is not known`);
  const inDims = e.shape(c.x[0]);
  const outDims = e.shape(c.y[0]);
  const rank = inDims.length;
  const axes = (attrInts(c.node, 'axes') ?? [...Array(rank).keys()]).map((a) => (a < 0 ? a + rank : a));
  let g = c.dY[0]!;
  axes.forEach((axis, k) => {
    const inLen = inDims[axis];
    const outLen = outDims[axis];
    if (inLen === outLen && (!scalesIn || scalesIn[k] === 1)) return;
    if (typeof inLen !== 'number' || typeof outLen !== 'number') {
      throw new GradientError(`${nodeLabel(c.node)}: resizing the batch axis is not supported`);
    }
    const scale = scalesIn?.length ? scalesIn[k] : sizesIn?.length ? policyScale(c, sizesIn, axes, inDims)[k] : outLen / inLen;
    const m = interpolationMatrix(mode, inLen, outLen, scale, coord, roundingFor(nearestMode, scale));
    const perm = [...Array(rank).keys()];
    perm.splice(axis, 1);
    perm.push(axis);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    const moved = e.transpose(g, perm);
    g = e.transpose(e.op('MatMul', [moved, e.constTensor(m, [outLen, inLen], c.x[0])]), inverse);
  });
  return g;
}

registerGradient('Resize', (c) => {
  const e = c.e;
  if (attrInt(c.node, 'antialias', 0) === 1) {
    throw new GradientError(`${nodeLabel(c.node)}: Resize with antialias has no gradient rule`);
  }
  const mode = attrString(c.node, 'mode', 'nearest');
  if (c.opset < 11) {
    const scales = e.constantInts(c.x[1]);
    if (!scales) throw new GradientError(`${nodeLabel(c.node)}: non-constant scales`);
    return [resizeGrad(c, scales, undefined, mode, 'asymmetric', SIMPLE), undefined];
  }
  // Exporters often compute scales or sizes from Shape ops; with static
  // shapes known, such a Resize maps in -> out and the scale is out / in.
  const scales = c.x[2] ? e.constantInts(c.x[2]) : undefined;
  const sizes = c.x[3] ? e.constantInts(c.x[3]) : undefined;
  const coord = attrString(c.node, 'coordinate_transformation_mode', 'half_pixel');
  const nearest = attrString(c.node, 'nearest_mode', 'round_prefer_floor');
  return [resizeGrad(c, scales?.length ? scales : undefined, sizes, mode, coord, nearest), undefined, undefined, undefined];
});

registerGradient('Upsample', (c) => {
  const e = c.e;
  const scales = attrFloats(c.node, 'scales') ?? e.constantInts(c.x[1]);
  if (!scales) throw new GradientError(`${nodeLabel(c.node)}: non-constant scales`);
  return [resizeGrad(c, scales, undefined, attrString(c.node, 'mode', 'nearest'), 'asymmetric', SIMPLE), undefined];
}, { until: 9 });
