/**
 * core's Runtime interface over onnxruntime-web: the WebGPU execution
 * provider when the browser offers an adapter, else WebAssembly
 * (multi-threaded when the page is cross-origin isolated). The rewritten
 * gradient models are the same as in Node, so attributions agree across
 * runtimes.
 */
import * as ort from 'onnxruntime-web';
import { encodeModel, type ModelProto, type Runtime, type Session, type Tensor } from '@onnx-explain/core';

export type WebExecutionProvider = 'webgpu' | 'wasm';

export interface OrtWebRuntimeOptions {
  /** 'auto' (default): WebGPU when an adapter is available, else wasm. */
  executionProvider?: 'auto' | WebExecutionProvider;
  /** Where ort-wasm-*.wasm/.mjs are served from (default: onnxruntime-web's own resolution). */
  wasmPaths?: string;
  /** wasm threads (default: all cores when cross-origin isolated, else 1). */
  numThreads?: number;
}

/** Whether this browser offers a WebGPU adapter (a software one counts). */
export async function webgpuAdapterAvailable(): Promise<boolean> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return !!(await gpu.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * One turn of the page's event loop. onnxruntime-web's wasm backend (no proxy
 * worker) runs a session on the page's own thread and its promise settles at
 * once, so a method's hundreds of runs would be one long task: no progress
 * painted, no Cancel click heard, until the end. A message-channel task (not
 * setTimeout, which browsers clamp to 4 ms when nested) ends the task between
 * runs at almost no cost.
 */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

class WebSession implements Session {
  constructor(private readonly s: ort.InferenceSession) {}
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }
  async run(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
    await yieldToPage();
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type, v.data as never, v.dims);
    const out = outputs ? await this.s.run(f, outputs) : await this.s.run(f);
    const res: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) res[k] = { type: v.type as Tensor['type'], dims: [...v.dims], data: (await v.getData()) as Tensor['data'] };
    return res;
  }
  release(): Promise<void> {
    return this.s.release();
  }
}

export class OrtWebRuntime implements Runtime {
  private ep: Promise<WebExecutionProvider>;
  name = 'onnxruntime-web';

  constructor(private readonly opts: OrtWebRuntimeOptions = {}) {
    if (opts.wasmPaths) ort.env.wasm.wasmPaths = opts.wasmPaths;
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    ort.env.wasm.numThreads = opts.numThreads ?? (isolated ? Math.min(8, globalThis.navigator?.hardwareConcurrency ?? 4) : 1);
    ort.env.logLevel = 'error';
    this.ep = (async () => {
      const want = opts.executionProvider ?? 'auto';
      if (want === 'wasm') return 'wasm';
      const gpu = await webgpuAdapterAvailable();
      if (want === 'webgpu' && !gpu) throw new Error('WebGPU was asked for, but this browser offers no WebGPU adapter');
      return gpu ? 'webgpu' : 'wasm';
    })();
    void this.ep.then((ep) => (this.name = `onnxruntime-web ${ep}${ep === 'wasm' ? ` (${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? '' : 's'})` : ''}`)).catch(() => undefined);
  }

  /** The execution provider sessions are created with. */
  executionProvider(): Promise<WebExecutionProvider> {
    return this.ep;
  }

  async createSession(model: ModelProto | Uint8Array): Promise<Session> {
    const ep = await this.ep;
    const bytes = model instanceof Uint8Array ? model : encodeModel(model);
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
    return new WebSession(s);
  }
}
