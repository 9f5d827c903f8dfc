/**
 * Geometry shared by convolutions and pooling: kernel, strides, dilations and
 * the explicit pads that auto_pad stands for (Operators.md, Conv: SAME_UPPER
 * puts the odd extra pad at the end, SAME_LOWER at the beginning).
 */
import type { NodeProto } from '../../onnx/types';
import { attrInts, attrString, attrInt } from '../../onnx/attributes';

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Explicit pads: begins then ends, as ONNX orders them. */
  pads: number[];
  ceil: boolean;
}

export function windowOf(node: NodeProto, inSpatial: number[], kernel: number[]): Window {
  const n = inSpatial.length;
  const strides = attrInts(node, 'strides', Array(n).fill(1));
  const dilations = attrInts(node, 'dilations', Array(n).fill(1));
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads = attrInts(node, 'pads', Array(2 * n).fill(0));
  if (autoPad === 'VALID') pads = Array(2 * n).fill(0);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inSpatial[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSpatial[i]);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i];
    }
  }
  return { kernel, strides, dilations, pads, ceil };
}

/** Output size along each spatial axis (floor or ceil mode). */
export function windowOutput(w: Window, inSpatial: number[]): number[] {
  return inSpatial.map((size, i) => {
    const span = (w.kernel[i] - 1) * w.dilations[i] + 1;
    const q = (size + w.pads[i] + w.pads[i + inSpatial.length] - span) / w.strides[i];
    let out = (w.ceil ? Math.ceil(q) : Math.floor(q)) + 1;
    // ceil mode never starts a window in the end padding (PyTorch's rule, which onnxruntime follows)
    if (w.ceil && (out - 1) * w.strides[i] >= size + w.pads[i]) out--;
    return out;
  });
}
