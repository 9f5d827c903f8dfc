/**
 * Loading models from disk, external data included. The user's file is only
 * ever read: every change this library makes is to an in-memory copy.
 */
import { promises as fs } from 'node:fs';
import { readFileExplained } from './readFile';
import * as path from 'node:path';
import {
  decodeModel,
  inlineExternalData,
  listExternalTensors,
  ExternalDataError,
  type ModelProto,
} from '@onnx-explain/core';

/** Raised for a model path that cannot be read; the message names the path. */
export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export interface LoadedModel {
  model: ModelProto;
  /** Absolute path of the .onnx file. */
  path: string;
  /** Number of tensors whose data came from side files. */
  externalTensors: number;
}

export interface LoadOptions {
  /**
   * Read external data into the model (default true), so it is self-contained
   * and can be handed to a runtime as one buffer. With false, external tensors
   * are left as references (for tools that only look at the graph).
   */
  loadExternalData?: boolean;
}

const modelError = (m: string) => new ModelFileError(m);

/**
 * A reader for external-data files that refuses anything outside the model's
 * folder, symbolic links that point out of it included. Core has already
 * refused absolute and '..' locations; this adds the check only the file
 * system can make.
 */
export function folderReader(modelDir: string): (location: string) => Promise<Uint8Array> {
  return async (location: string) => {
    const dir = await fs.realpath(modelDir);
    const target = path.resolve(dir, location);
    let real: string;
    try {
      real = await fs.realpath(target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new ExternalDataError(`external-data file '${location}' is a loop of symbolic links (at '${target}')`);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new ExternalDataError(`external-data file '${location}' cannot be resolved: ${(e as Error).message}`);
      }
      throw new ExternalDataError(`external-data file '${location}' does not exist next to the model (looked for '${target}')`);
    }
    // the folder's path with one trailing separator ('/' stays '/'): '/m' must not admit '/m-evil/w.bin'
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    if (real !== dir && !real.startsWith(prefix)) {
      throw new ExternalDataError(
        `external-data location '${location}' resolves to '${real}', outside the model's folder '${dir}'; refused`,
      );
    }
    return new Uint8Array(await readFileExplained(real, 'external-data file', modelError));
  };
}

/** Reads and decodes an ONNX model file, and its external data unless told not to. */
export async function loadModelFile(file: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const abs = path.resolve(file);
  const bytes = new Uint8Array(await readFileExplained(abs, 'model file', modelError, file));
  const model = decodeModel(bytes, `'${file}'`);
  let externalTensors = 0;
  if (opts.loadExternalData ?? true) {
    externalTensors = await inlineExternalData(model, folderReader(path.dirname(abs)));
  } else {
    externalTensors = listExternalTensors(model).length;
  }
  return { model, path: abs, externalTensors };
}
