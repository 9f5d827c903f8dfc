/**
 * Loading models in a page: from a URL, or from files the user picked.
 *
 * A model from a URL is untrusted: only http(s) is fetched, the bytes read are
 * capped (a model and its side files together), and the URL it finally came
 * from (after redirects) is reported. Side files for external data are named
 * by file paths inside the model; core has already refused absolute paths and
 * '..' escapes, and each remaining segment is percent-encoded here, so that a
 * location such as '%2e%2e/x' or 'a?b#c' stays a file name in the model's own
 * folder of the final URL, never another path, query, host or scheme.
 */
import { decodeModel, inlineExternalData, type ModelProto } from '@onnx-explain/core';

/** 1 GiB: a browser tab holds the bytes twice (download and decoded model). */
export const DEFAULT_MAX_MODEL_BYTES = 1 << 30;

export interface LoadUrlOptions {
  /** Passed to fetch for the model and its side files (credentials, headers, signal). */
  init?: RequestInit;
  /** Most bytes read for the model and its external data together (default 1 GiB). */
  maxBytes?: number;
}

export interface LoadedModel {
  model: ModelProto;
  /** The URL the model was read from, after redirects. */
  url: string;
  /** Bytes read: the model and its side files. */
  bytes: number;
}

export class ModelUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelUrlError';
  }
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1)} MiB`;

/** Resolves a URL against the page (if any) and refuses every scheme but http and https. */
export function checkModelUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url, globalThis.location?.href);
  } catch {
    throw new ModelUrlError(`'${url}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ModelUrlError(`the model URL '${url}' is refused: its scheme is ${u.protocol}, only http: and https: are loaded`);
  }
  return u;
}

/**
 * The URL of a side file: the model's folder (of its final URL) followed by
 * the checked location, one percent-encoded segment at a time.
 */
export function sideFileUrl(modelUrl: string, location: string): string {
  const base = new URL('./', modelUrl);
  const u = new URL(location.split('/').map(encodeURIComponent).join('/'), base);
  // defence in depth: the encoding above cannot leave the folder, and this says so if it ever did
  if (u.origin !== base.origin || !u.pathname.startsWith(base.pathname) || u.search || u.hash) {
    throw new ModelUrlError(`external data '${location}' resolves to '${u.href}', outside the model's folder '${base.href}'`);
  }
  return u.href;
}

/**
 * Reads a response body into memory, refusing it before the download when its
 * declared length is over what is left of the budget (`used` bytes of `limit`
 * are spent already), and while streaming when it passes that.
 */
async function readCapped(res: Response, what: string, used: number, limit: number): Promise<Uint8Array> {
  const over = (total: string) =>
    new ModelUrlError(`${what} ${total}, over the ${mib(limit)} limit for models loaded from a URL (raise it with maxBytes, or load the files from disk)`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && used + declared > limit) {
    await res.body?.cancel();
    throw over(mib(used + declared));
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
    if (done || !value) break;
    n += value.length;
    if (used + n > limit) {
      await reader!.cancel();
      throw over(`more than ${mib(used + n)}`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Fetches and decodes a model from an http(s) URL; external data is fetched from the model's folder. */
export async function fetchModel(url: string, opts: LoadUrlOptions = {}): Promise<LoadedModel> {
  const limit = opts.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  const start = checkModelUrl(url);
  const res = await fetch(start.href, opts.init);
  if (!res.ok) throw new ModelUrlError(`model '${start.href}' could not be fetched: HTTP ${res.status} ${res.statusText}`);
  const finalUrl = res.url || start.href;
  checkModelUrl(finalUrl);
  let bytes = 0;
  const body = await readCapped(res, `model '${finalUrl}' is`, 0, limit);
  bytes += body.length;
  const model = decodeModel(body, `'${finalUrl}'`);
  await inlineExternalData(model, async (location) => {
    const side = sideFileUrl(finalUrl, location);
    const r = await fetch(side, opts.init);
    if (!r.ok) throw new ModelUrlError(`external data '${location}' of model '${finalUrl}' could not be fetched from '${side}': HTTP ${r.status}`);
    const data = await readCapped(r, `model '${finalUrl}' with its external data (up to '${location}') comes to`, bytes, limit);
    bytes += data.length;
    return data;
  });
  return { model, url: finalUrl, bytes };
}

/** Fetches and decodes a model (see fetchModel, which also reports the final URL). */
export async function loadModelFromUrl(url: string, opts: LoadUrlOptions = {}): Promise<ModelProto> {
  return (await fetchModel(url, opts)).model;
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
