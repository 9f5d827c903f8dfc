/**
 * A text model's inputs from token ids: each declared input recognised by
 * its name and type (input_ids, attention_mask, token_type_ids,
 * position_ids, past key/values fed empty), filled in the declared integer
 * type. Several sequences are right-padded to one length, masked where
 * padded. An input that cannot be told from its name is refused, naming it,
 * before anything runs.
 */
import type { ModelSummary, TensorSummary } from '../inspect';
import type { Tensor } from '../runtime';

export type TextInputRole = 'ids' | 'mask' | 'types' | 'positions' | 'past';

export interface TextSequence {
  ids: number[];
  typeIds?: number[];
}

/** What each model input holds, from its name and type. */
export function textInputRoles(summary: ModelSummary): Record<string, TextInputRole> {
  const roles: Record<string, TextInputRole> = {};
  const unknown: string[] = [];
  for (const i of summary.inputs) {
    const n = i.name.toLowerCase();
    const float = i.type === 'float32' || i.type === 'float16' || i.type === 'float64';
    if (float && /past|cache|key|value/.test(n)) roles[i.name] = 'past';
    else if (float) unknown.push(`'${i.name}' (${i.type}: not token ids, a mask or a past state)`);
    else if (/attention_mask|(^|_)mask$/.test(n)) roles[i.name] = 'mask';
    else if (/token_type|segment/.test(n)) roles[i.name] = 'types';
    else if (/position/.test(n)) roles[i.name] = 'positions';
    else if (/input_ids|^ids$|token|^input$|^x$|^text/.test(n) || !Object.values(roles).includes('ids')) roles[i.name] = 'ids';
    else unknown.push(`'${i.name}'`);
  }
  if (unknown.length) throw new Error(`cannot tell what to feed the model's input ${unknown.join(', ')} from text; a text model takes token ids and optionally an attention mask, token type ids, position ids and past key/values`);
  const ids = Object.entries(roles).filter(([, r]) => r === 'ids');
  if (ids.length !== 1) throw new Error(`a text model takes one input of token ids; this one has ${ids.length ? ids.map(([k]) => `'${k}'`).join(', ') : 'none'} (inputs ${summary.inputs.map((i) => `'${i.name}'`).join(', ')})`);
  return roles;
}

/** The name of the token-id input. */
export function idsInput(summary: ModelSummary): string {
  return Object.entries(textInputRoles(summary)).find(([, r]) => r === 'ids')![0];
}

function intTensor(type: string, dims: number[], values: number[], name: string): Tensor {
  if (type === 'int64') return { type, dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
  if (type === 'int32') return { type, dims, data: Int32Array.from(values) };
  if (type === 'uint8') return { type, dims, data: Uint8Array.from(values) };
  if (type === 'bool') return { type, dims, data: Uint8Array.from(values) };
  throw new Error(`input '${name}' is ${type}; token ids, masks and positions are fed as int64, int32 or uint8`);
}

/** Token ids shaped and typed like the ids input `template` (a baseline's or an ablation's ids). */
export function idsLike(template: Tensor, ids: number[]): Tensor {
  return intTensor(template.type, [...template.dims], ids, 'ids');
}

/** An empty past state: the declared shape with the batch axis set and the past-length axis 0. */
function emptyPast(i: TensorSummary, batch: number, batchSymbol: string | undefined): Tensor {
  const shape = i.shape;
  if (!shape) throw new Error(`past input '${i.name}' has no declared shape: cannot make an empty past for it`);
  let pastAxis = -1;
  const dims = shape.map((d, k) => {
    if (typeof d === 'number') return d;
    if (d !== null && d === batchSymbol) return batch;
    if (pastAxis < 0 && d !== null && /past|cache|total|seq|len/i.test(String(d))) {
      pastAxis = k;
      return 0;
    }
    return NaN;
  });
  if (pastAxis < 0 || dims.some((d) => Number.isNaN(d))) {
    throw new Error(`past input '${i.name}' [${shape.map((d) => d ?? '?').join(', ')}]: cannot tell its batch and past-length axes from the declared shape`);
  }
  return { type: 'float32', dims, data: new Float32Array(0) };
}

/**
 * Feeds for one or more token sequences: padded right with `padId` to the
 * longest (or to `length`), attention mask 0 there, positions 0..T-1, pasts
 * empty.
 */
export function textFeeds(summary: ModelSummary, sequences: TextSequence[], padId = 0, length?: number): Record<string, Tensor> {
  if (!sequences.length) throw new Error('no token sequence to feed');
  const roles = textInputRoles(summary);
  const batch = sequences.length;
  const len = Math.max(length ?? 0, ...sequences.map((s) => s.ids.length));
  if (len === 0) throw new Error('the text has no tokens');
  const idsName = Object.entries(roles).find(([, r]) => r === 'ids')![0];
  const batchSymbol = summary.inputs.find((i) => i.name === idsName)?.shape?.[0];
  const fill = (f: (s: TextSequence, t: number) => number) => sequences.flatMap((s) => Array.from({ length: len }, (_, t) => f(s, t)));
  const feeds: Record<string, Tensor> = {};
  for (const i of summary.inputs) {
    const dims = [batch, len];
    switch (roles[i.name]) {
      case 'ids':
        feeds[i.name] = intTensor(i.type, dims, fill((s, t) => (t < s.ids.length ? s.ids[t] : padId)), i.name);
        break;
      case 'mask':
        feeds[i.name] = intTensor(i.type, dims, fill((s, t) => (t < s.ids.length ? 1 : 0)), i.name);
        break;
      case 'types':
        feeds[i.name] = intTensor(i.type, dims, fill((s, t) => (t < s.ids.length ? s.typeIds?.[t] ?? 0 : 0)), i.name);
        break;
      case 'positions':
        feeds[i.name] = intTensor(i.type, dims, fill((_, t) => t), i.name);
        break;
      case 'past':
        feeds[i.name] = emptyPast(i, batch, typeof batchSymbol === 'string' ? batchSymbol : undefined);
        break;
    }
  }
  return feeds;
}
