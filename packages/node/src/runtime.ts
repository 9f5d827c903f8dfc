/**
 * Choosing the execution provider: CUDA when asked for or available, CPU
 * otherwise. onnxruntime-node's npm package carries the CPU build; the CUDA
 * provider's libraries come from its install script, which this project does
 * not run by default (it downloads from outside the npm registry).
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, DataType, makeModel, encodeModel } from '@onnx-explain/core';
import { OrtNodeRuntime, type OrtRuntimeOptions } from './ortRuntime';

// onnxruntime logs a failed CUDA probe as an error on stderr; this library
// reports the outcome itself, in one line, so keep onnxruntime's own log quiet.
ort.env.logLevel = 'fatal';

export type Device = 'auto' | 'cpu' | 'cuda';

export const CUDA_INSTALL_HINT =
  'onnxruntime-node ships the CPU build; to add CUDA 12 (NVIDIA driver, CUDA 12 and cuDNN 9 installed), run once in the project: ' +
  'node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12';

export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}

let cudaProbe: Promise<string | undefined> | undefined;

/** Undefined when the CUDA EP works here, else why it does not. */
export function cudaUnavailableReason(): Promise<string | undefined> {
  cudaProbe ??= (async () => {
    const b = new GraphBuilder('probe');
    const x = b.input('x', DataType.FLOAT, [1]);
    b.output(b.op('Relu', [x], {}, { output: 'y' }), DataType.FLOAT, [1]);
    try {
      const s = await ort.InferenceSession.create(encodeModel(makeModel(b.build(), { opset: 13 })), {
        executionProviders: ['cuda'],
        logSeverityLevel: 4,
      });
      await s.release();
      return undefined;
    } catch (e) {
      return (e as Error).message.split('\n')[0];
    }
  })();
  return cudaProbe;
}

/** Whether this machine has an NVIDIA driver loaded: only then is running on the CPU under 'auto' news. */
export function nvidiaDriverPresent(): boolean {
  return fs.existsSync('/proc/driver/nvidia/version') || fs.existsSync('/dev/nvidiactl');
}

export interface ResolvedDevice {
  device: 'cpu' | 'cuda';
  runtime: OrtNodeRuntime;
  /** A one-line notice when 'auto' fell back to the CPU. */
  notice?: string;
}

export async function resolveDevice(device: Device = 'auto', opts: Omit<OrtRuntimeOptions, 'executionProviders'> = {}): Promise<ResolvedDevice> {
  if (device === 'cpu') return { device: 'cpu', runtime: new OrtNodeRuntime({ ...opts, executionProviders: ['cpu'] }) };
  const reason = await cudaUnavailableReason();
  if (!reason) return { device: 'cuda', runtime: new OrtNodeRuntime({ ...opts, executionProviders: ['cuda', 'cpu'] }) };
  if (device === 'cuda') throw new DeviceError(`CUDA was asked for but onnxruntime-node cannot use it (${reason}). ${CUDA_INSTALL_HINT}`);
  // on a machine without a GPU the CPU is simply the device: nothing to say
  const notice = nvidiaDriverPresent() ? 'an NVIDIA GPU is here but onnxruntime-node has no CUDA provider, so this runs on the CPU (--device cuda says how to add it)' : undefined;
  return { device: 'cpu', runtime: new OrtNodeRuntime({ ...opts, executionProviders: ['cpu'] }), ...(notice ? { notice } : {}) };
}
