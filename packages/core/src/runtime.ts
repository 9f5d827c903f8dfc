/**
 * The one interface core needs from a runtime. @onnx-explain/node implements
 * it over onnxruntime-node, @onnx-explain/web over onnxruntime-web; core's
 * algorithms (shape probing, attribution methods) only ever talk to this.
 */
import type { ModelProto } from './onnx/types';
import type { TypedArray } from './onnx/tensor';

/** A dense tensor: element type name as onnxruntime spells it, dims, values. */
export interface Tensor {
  type: 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'bool';
  dims: number[];
  data: TypedArray;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface Runtime {
  /** A name for reports: 'onnxruntime-node cpu', 'onnxruntime-web webgpu', ... */
  readonly name: string;
  createSession(model: ModelProto): Promise<Session>;
}

/** Runs a model once on feeds and releases its session. */
export async function runOnce(runtime: Runtime, model: ModelProto, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await runtime.createSession(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Repeats a batch-1 tensor n times along axis 0. */
export function tileBatch(t: Tensor, n: number): Tensor {
  const data = new (t.data.constructor as new (k: number) => TypedArray)(t.data.length * n);
  for (let i = 0; i < n; i++) (data as Float32Array).set(t.data as Float32Array, i * t.data.length);
  return { type: t.type, dims: [t.dims[0] * n, ...t.dims.slice(1)], data };
}
