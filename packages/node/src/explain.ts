/**
 * The library API a Node service embeds: load a model once, then explain
 * many inputs. Sessions are made on first use and kept; calls may run
 * concurrently.
 *
 *   const ex = await NodeExplainer.load('model.onnx');           // CUDA if it works here, else CPU
 *   const r = await ex.explain({ image }, { method: 'ig', steps: 50, onProgress, signal });
 *   r.attributions.image.data; r.delta; r.classes
 */
import {
  Explainer,
  explainWith,
  explainText,
  explainGeneration,
  type TextTokenizer,
  type TextExplainOptions,
  type TextExplanation,
  type GenerationOptions,
  type GenerationExplanation,
  type ModelProto,
  type Tensor,
  type ModelSummary,
  type ExplainOptions,
  type ExplainResult,
} from '@onnx-explain/core';
import { loadModelFile } from './modelFile';
import { resolveDevice, type Device } from './runtime';
import type { NdArray } from '@onnx-explain/core';

export { METHODS, type MethodName, type ExplainOptions, type ExplainResult } from '@onnx-explain/core';

export interface LoadExplainerOptions {
  device?: Device;
  intraOpNumThreads?: number;
}

export function toTensor(a: NdArray | Tensor): Tensor {
  if ('dims' in a) return a;
  return { type: a.dtype as Tensor['type'], dims: a.shape, data: a.data };
}

export class NodeExplainer {
  private constructor(
    readonly explainer: Explainer,
    readonly device: 'cpu' | 'cuda',
    /** Set when the device was 'auto' and CUDA could not be used. */
    readonly notice: string | undefined,
  ) {}

  static async load(model: string | ModelProto, opts: LoadExplainerOptions = {}): Promise<NodeExplainer> {
    const proto = typeof model === 'string' ? (await loadModelFile(model)).model : model;
    const d = await resolveDevice(opts.device ?? 'auto', { intraOpNumThreads: opts.intraOpNumThreads });
    return new NodeExplainer(new Explainer(d.runtime, proto), d.device, d.notice);
  }

  get summary(): ModelSummary {
    return this.explainer.summary;
  }

  async explain(inputs: Record<string, NdArray | Tensor>, opts: ExplainOptions = {}): Promise<ExplainResult> {
    const x: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) x[k] = toTensor(v);
    return explainWith(this.explainer, x, opts);
  }

  /** Token attributions of a text (an encoder classifier), see core's explainText. */
  explainText(tokenizer: TextTokenizer, text: string, opts: TextExplainOptions & { pair?: string } = {}): Promise<TextExplanation> {
    return explainText(this.explainer, tokenizer, text, opts);
  }

  /** The generation matrix of a decoder for a prompt (ids, or a text with a tokenizer), see core's explainGeneration. */
  explainGeneration(prompt: number[] | string, opts: GenerationOptions = {}, tokenizer?: TextTokenizer): Promise<GenerationExplanation> {
    if (typeof prompt === 'string' && !tokenizer) throw new Error('a text prompt needs a tokenizer');
    return explainGeneration(this.explainer, typeof prompt === 'string' ? tokenizer!.encode(prompt).ids : prompt, opts, tokenizer);
  }

  release(): Promise<void> {
    return this.explainer.release();
  }
}
