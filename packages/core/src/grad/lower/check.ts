/**
 * Lowering, checked: the lowered model is probed like the original (its new
 * tensors need shapes for the gradient rules), and its outputs at the probe
 * input must equal the original's there. A lowering that does not reproduce
 * the model is not used, and the notes say by how much it missed.
 */
import type { ModelProto } from '../../onnx/types';
import type { Runtime, Tensor } from '../../runtime';
import { probeModel, type ShapeTable } from '../shapes';
import { lowerModel } from './index';

/** Largest |lowered - original| allowed, relative to the output's largest |value|: float32 sums in another order. */
export const LOWERING_TOLERANCE = 1e-4;

export interface CheckedLowering {
  /** The lowered model and its shapes, when lowering happened and reproduced the model. */
  lowered?: { model: ModelProto; shapes: ShapeTable; ops: string[] };
  /** What was not lowered, and why. */
  notes: string[];
}

function floats(t: Tensor): ArrayLike<number> | undefined {
  return t.type === 'float32' || t.type === 'float64' ? (t.data as ArrayLike<number>) : undefined;
}

/** How far each float output of `b` is from `a`, as [name, max |diff|, max |a|]. */
export function outputDifferences(a: Record<string, Tensor>, b: Record<string, Tensor>): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (const [name, ta] of Object.entries(a)) {
    const xa = floats(ta);
    const tb = b[name];
    if (!xa || !tb) continue;
    const xb = floats(tb);
    if (!xb || xb.length !== xa.length) {
      out.push([name, Infinity, 0]);
      continue;
    }
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < xa.length; i++) {
      const d = Math.abs(xa[i] - xb[i]);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
      scale = Math.max(scale, Math.abs(xa[i]));
    }
    out.push([name, diff, scale]);
  }
  return out;
}

/**
 * Lowers `model` and checks the result against `reference`, the original's
 * outputs from probeModel with the same sample and batch inputs.
 */
export async function lowerAndCheck(
  runtime: Runtime,
  model: ModelProto,
  shapes: ShapeTable,
  reference: Record<string, Tensor>,
  sample: Record<string, Tensor>,
  batchInputs: string[],
): Promise<CheckedLowering> {
  const { model: lowered, lowered: ops, refused } = lowerModel(model, shapes);
  const notes = refused.map((r) => `${r.node} was not lowered: ${r.reason}`);
  if (!ops.length) return { notes };
  // only the tensors the lowering added need probing; the rest keep their shapes
  const added = new Set<string>();
  for (const n of lowered.graph?.node ?? []) for (const o of n.output ?? []) if (o && !shapes.has(o)) added.add(o);
  const probed = await probeModel(runtime, lowered, sample, batchInputs, added);
  probed.shapes = new Map([...shapes, ...probed.shapes]);
  const off = outputDifferences(reference, probed.outputs).filter(([, diff, scale]) => !(diff <= LOWERING_TOLERANCE * scale + 1e-6));
  if (off.length) {
    const [name, diff, scale] = off[0];
    notes.push(
      `lowering ${ops.join(', ')} to standard ops changed output '${name}' by up to ${diff.toExponential(2)} (its largest value is ${scale.toExponential(2)}; allowed ${LOWERING_TOLERANCE} of that), so it is not used`,
    );
    return { notes };
  }
  return { lowered: { model: lowered, shapes: probed.shapes, ops }, notes };
}
