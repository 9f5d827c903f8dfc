/**
 * @onnx-explain/web: the onnxruntime-web runner for core's methods, model
 * loading in a page, and view helpers (heatmaps, token colours).
 */
import { decodeModel, inlineExternalData, type ModelProto } from '@onnx-explain/core';

export * from './ortWebRuntime';
export * from './view';

/** Fetches and decodes a model; external data is fetched relative to the model's URL. */
export async function loadModelFromUrl(url: string, init?: RequestInit): Promise<ModelProto> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`model '${url}' could not be fetched: HTTP ${res.status} ${res.statusText}`);
  const model = decodeModel(new Uint8Array(await res.arrayBuffer()), `'${url}'`);
  await inlineExternalData(model, async (location) => {
    const side = new URL(location, new URL(url, globalThis.location?.href)).href;
    const r = await fetch(side, init);
    if (!r.ok) throw new Error(`external data '${location}' of model '${url}' could not be fetched: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  });
  return model;
}

/**
 * Decodes a model picked by the user (file input, drag and drop). Side files
 * for external data may be given too, keyed by the location the model names.
 */
export async function loadModelFromFile(file: Blob & { name?: string }, sideFiles: Record<string, Blob> = {}): Promise<ModelProto> {
  const model = decodeModel(new Uint8Array(await file.arrayBuffer()), `'${file.name ?? 'model'}'`);
  await inlineExternalData(model, async (location) => {
    const side = sideFiles[location];
    if (!side) throw new Error(`the model stores tensors in '${location}'; add that file next to the model`);
    return new Uint8Array(await side.arrayBuffer());
  });
  return model;
}
