import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

/** Runs a model given as bytes or as a file path; returns every output as a plain array with dims. */
export async function runOrt(
  model: Uint8Array | string,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, { dims: readonly number[]; data: number[] }>> {
  const session =
    typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const out = await session.run(feeds);
    const res: Record<string, { dims: readonly number[]; data: number[] }> = {};
    for (const [k, v] of Object.entries(out)) res[k] = { dims: v.dims, data: Array.from(v.data as Float32Array, Number) };
    return res;
  } finally {
    await session.release();
  }
}

export function tmpDir(prefix = 'onnx-explain-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const repoRoot = path.resolve(__dirname, '../..');
