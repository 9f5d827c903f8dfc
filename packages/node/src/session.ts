/**
 * Thin helpers over onnxruntime-node: make a session from an in-memory model
 * and run it on NdArrays. The explain runner (a later layer) builds on these.
 */
import * as ort from 'onnxruntime-node';
import { encodeModel, type ModelProto } from '@onnx-explain/core';
import type { NdArray } from '@onnx-explain/core';

export type { InferenceSession } from 'onnxruntime-node';

export async function createSession(
  model: ModelProto | Uint8Array,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', ...options });
}

export function toOrtTensor(a: NdArray): ort.Tensor {
  const type = a.dtype === 'bool' ? 'bool' : a.dtype;
  return new ort.Tensor(type as ort.Tensor.Type, a.data as never, a.shape);
}

export function fromOrtTensor(t: ort.Tensor): NdArray {
  return { data: t.data as NdArray['data'], shape: [...t.dims], dtype: t.type };
}

/** Runs a session on named inputs and returns every output. */
export async function runSession(session: ort.InferenceSession, feeds: Record<string, NdArray>): Promise<Record<string, NdArray>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrtTensor(v);
  const out = await session.run(ortFeeds);
  const result: Record<string, NdArray> = {};
  for (const [k, v] of Object.entries(out)) result[k] = fromOrtTensor(v);
  return result;
}

/** Creates a session for a model, runs it once, and releases the session. */
export async function runModel(model: ModelProto | Uint8Array, feeds: Record<string, NdArray>): Promise<Record<string, NdArray>> {
  const session = await createSession(model);
  try {
    return await runSession(session, feeds);
  } finally {
    await session.release();
  }
}
