/**
 * Checks a user's input against what the model declares, before onnxruntime
 * sees it, so the error names the input, the expected and the actual shape
 * and type instead of surfacing as a runtime failure deep in a kernel.
 */
import type { TensorSummary } from './inspect';

export class InputMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputMismatchError';
  }
}

function showShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

/** Throws InputMismatchError when the given dtype or shape cannot feed the declared input. */
export function checkInput(declared: TensorSummary, given: { dtype: string; shape: readonly number[] }): void {
  if (declared.type !== given.dtype) {
    throw new InputMismatchError(
      `input '${declared.name}' expects type ${declared.type}, got ${given.dtype} (shape ${showShape(given.shape)})`,
    );
  }
  const want = declared.shape;
  if (!want) return;
  // a symbolic dim ('N'), an unknown one (null) and a negative dim_value (-1, which some exporters
  // write for "any", and onnxruntime accepts any size for) fit every size
  const fits =
    want.length === given.shape.length && want.every((d, i) => typeof d !== 'number' || d < 0 || d === given.shape[i]);
  if (!fits) {
    throw new InputMismatchError(
      `input '${declared.name}' expects shape ${showShape(want)}, got ${showShape(given.shape)}`,
    );
  }
  const width = given.shape[given.shape.length - 1];
  if (declared.minFeatures !== undefined && width < declared.minFeatures) {
    throw new InputMismatchError(
      `input '${declared.name}' has ${width} features (shape ${showShape(given.shape)}), but the model's trees split on feature ${declared.minFeatures - 1}: it needs at least ${declared.minFeatures}`,
    );
  }
}
