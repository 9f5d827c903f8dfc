/**
 * A tokenizer from a local tokenizer.json (never fetched), with the
 * tokenizer_config.json beside it when there is one (it names the padding
 * and end-of-text tokens some tokenizers leave out of tokenizer.json).
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { TextTokenizer } from '@onnx-explain/core';

export async function loadTokenizer(file: string): Promise<TextTokenizer> {
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`tokenizer file '${file}' cannot be read (${e.code ?? e.message})`);
  });
  let config: Record<string, unknown> = {};
  const beside = path.join(path.dirname(file), 'tokenizer_config.json');
  if (path.basename(file) === 'tokenizer.json') {
    const c = await fs.readFile(beside, 'utf8').catch(() => undefined);
    if (c !== undefined) {
      try {
        config = JSON.parse(c);
      } catch (e) {
        throw new Error(`'${beside}' is not JSON: ${(e as Error).message}`);
      }
    }
  }
  try {
    return new TextTokenizer(text, config);
  } catch (e) {
    throw new Error(`tokenizer file '${file}': ${(e as Error).message}`);
  }
}
