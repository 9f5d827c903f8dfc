/**
 * core's Runtime interface over onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { encodeModel, type ModelProto, type Runtime, type Session, type Tensor } from '@onnx-explain/core';

export interface OrtRuntimeOptions {
  /** Execution providers in order of preference (default: cpu). */
  executionProviders?: string[];
  /** Threads per session for the CPU EP (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /**
   * onnxruntime's graph rewrites (default: all). 'basic' keeps to rewrites
   * that hold in every type; the extended ones fuse patterns into contrib
   * ops (x*sigmoid(x) into QuickGelu, for one) that exist in float32 only.
   */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.type, t.data as never, t.dims);
}

function fromOrt(t: ort.Tensor): Tensor {
  return { type: t.type as Tensor['type'], dims: [...t.dims], data: t.data as Tensor['data'] };
}

class OrtSession implements Session {
  constructor(private readonly s: ort.InferenceSession) {}
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }
  async run(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = toOrt(v);
    const out = outputs ? await this.s.run(f, outputs) : await this.s.run(f);
    const res: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) res[k] = fromOrt(v);
    return res;
  }
  release(): Promise<void> {
    return this.s.release();
  }
}

export class OrtNodeRuntime implements Runtime {
  readonly name: string;
  constructor(private readonly opts: OrtRuntimeOptions = {}) {
    this.name = `onnxruntime-node ${(opts.executionProviders ?? ['cpu']).join('+')}`;
  }
  async createSession(model: ModelProto | Uint8Array): Promise<Session> {
    const bytes = model instanceof Uint8Array ? model : encodeModel(model);
    const s = await ort.InferenceSession.create(bytes, {
      executionProviders: this.opts.executionProviders ?? ['cpu'],
      graphOptimizationLevel: this.opts.graphOptimizationLevel ?? 'all',
      // errors reach the caller as exceptions with the same text; printed too, they doubled every failure on stderr
      logSeverityLevel: 4,
      ...(this.opts.intraOpNumThreads ? { intraOpNumThreads: this.opts.intraOpNumThreads } : {}),
    });
    return new OrtSession(s);
  }
}
