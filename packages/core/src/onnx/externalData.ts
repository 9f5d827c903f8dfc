/**
 * Tensors whose bytes live in side files ("external data", ONNX IR >= 6).
 *
 * Core stays runtime-neutral: it parses and checks the external-data entries
 * and asks a caller-supplied reader for the bytes of a file named relative to
 * the model's folder. @onnx-explain/node reads them from disk; a browser can
 * read them from dropped files or URLs.
 */
import type { ModelProto, TensorProto } from './types';
import { DataLocation } from './types';
import { forEachTensor } from './walk';
import { dataTypeName, dataTypeSize, elementCount, tensorDims } from './tensor';

export interface ExternalDataInfo {
  /** Path of the side file relative to the model's folder, as written in the model. */
  location: string;
  offset: number;
  /** Byte length; undefined means "to the end of the file". */
  length?: number;
  checksum?: string;
}

/** Raised for an external-data entry that is malformed or escapes the model's folder. */
export class ExternalDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExternalDataError';
  }
}

export function hasExternalData(t: TensorProto): boolean {
  return t.dataLocation === DataLocation.EXTERNAL;
}

/** Parses a tensor's external_data key/value entries. */
export function externalDataInfo(t: TensorProto): ExternalDataInfo {
  const name = t.name ?? '(unnamed)';
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new ExternalDataError(`tensor '${name}' is marked EXTERNAL but has no 'location' entry`);
  const int = (key: string): number | undefined => {
    const v = kv.get(key);
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v)) throw new ExternalDataError(`tensor '${name}': external-data ${key} '${v}' is not a non-negative integer`);
    return Number(v);
  };
  return { location, offset: int('offset') ?? 0, length: int('length'), checksum: kv.get('checksum') };
}

/**
 * Checks that an external-data location names a file inside the model's
 * folder and returns it normalised ('a/./b.bin' -> 'a/b.bin'). Absolute paths
 * (POSIX, Windows drive or UNC), and paths whose '..' segments climb out of
 * the folder, are refused: a model file must not be able to make us read
 * arbitrary files on the machine that loads it.
 */
export function safeExternalLocation(location: string, tensorName = '(unnamed)'): string {
  const refuse = (why: string) =>
    new ExternalDataError(
      `tensor '${tensorName}': external-data location '${location}' is refused: ${why}; it must be a relative path inside the model's folder`,
    );
  if (location.includes('\0')) throw refuse('it contains a NUL byte');
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) {
    throw refuse('it is an absolute path');
  }
  const parts: string[] = [];
  for (const seg of location.split(/[\\/]/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) throw refuse('it leads out of the model\'s folder');
      parts.pop();
    } else {
      parts.push(seg);
    }
  }
  if (parts.length === 0) throw refuse('it names no file');
  return parts.join('/');
}

/** Every tensor of the model whose data is external, with its parsed entry. */
export function listExternalTensors(model: ModelProto): { tensor: TensorProto; info: ExternalDataInfo }[] {
  const out: { tensor: TensorProto; info: ExternalDataInfo }[] = [];
  forEachTensor(model, (t) => {
    if (hasExternalData(t)) out.push({ tensor: t, info: externalDataInfo(t) });
  });
  return out;
}

/** Reads the whole side file at a checked, relative location. */
export type ExternalFileReader = (location: string) => Promise<Uint8Array> | Uint8Array;

/**
 * Loads every external tensor's bytes into raw_data, in place, so the model is
 * self-contained (it can then be encoded to one buffer and handed to a
 * runtime). Each location is checked with safeExternalLocation before the
 * reader is called; each file is read once.
 */
export async function inlineExternalData(model: ModelProto, read: ExternalFileReader): Promise<number> {
  const entries = listExternalTensors(model);
  const files = new Map<string, Uint8Array>();
  for (const { tensor, info } of entries) {
    const name = tensor.name ?? '(unnamed)';
    const loc = safeExternalLocation(info.location, name);
    let file = files.get(loc);
    if (!file) {
      file = await read(loc);
      files.set(loc, file);
    }
    const end = info.length === undefined ? file.length : info.offset + info.length;
    if (info.offset > file.length || end > file.length) {
      throw new ExternalDataError(
        `tensor '${name}': external data [${info.offset}, ${end}) lies beyond the end of '${loc}' (${file.length} bytes)`,
      );
    }
    const size = dataTypeSize(tensor.dataType ?? 0);
    if (size !== undefined) {
      const dims = tensorDims(tensor);
      const want = elementCount(dims) * size;
      if (end - info.offset !== want) {
        throw new ExternalDataError(
          `tensor '${name}' of shape [${dims.join(', ')}] and type ${dataTypeName(tensor.dataType)} needs ${want} bytes, its external data in '${loc}' has ${end - info.offset}`,
        );
      }
    }
    tensor.rawData = file.slice(info.offset, end);
    delete tensor.externalData;
    delete tensor.dataLocation;
  }
  return entries.length;
}
