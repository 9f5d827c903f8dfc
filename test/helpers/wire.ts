/**
 * An independent reading of protobuf bytes, used as the oracle for lossless
 * round trips. It walks the wire format itself (tags, varints, lengths) and
 * uses the schema only to know which length-delimited fields are
 * sub-messages or packed scalars. It does not use protobufjs' decoder, so a
 * field that protobufjs dropped or mangled shows up as a difference.
 *
 * The result is a canonical tree: fields sorted by number (protobuf allows any
 * field order), repeated values kept in their order (node order matters),
 * packed and unpacked forms of a repeated scalar read the same. Fields the
 * schema does not know are kept, marked 'unknown'.
 */
import { onnxProtoRoot } from '@onnx-explain/core';
import type * as protobuf from 'protobufjs';

type Canon = { [field: string]: unknown[] };

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'enum']);
const FIXED64 = new Set(['double', 'fixed64', 'sfixed64']);
const FIXED32 = new Set(['float', 'fixed32', 'sfixed32']);

function scalarKind(field: protobuf.Field): 'varint' | 'fixed64' | 'fixed32' | 'bytes' | 'message' {
  if (field.resolvedType && 'fields' in field.resolvedType) return 'message';
  if (field.resolvedType) return 'varint'; // enum
  if (VARINT_TYPES.has(field.type)) return 'varint';
  if (FIXED64.has(field.type)) return 'fixed64';
  if (FIXED32.has(field.type)) return 'fixed32';
  return 'bytes';
}

export function canonical(buf: Uint8Array, type: protobuf.Type, unknown: string[] = [], path = type.name): Canon {
  const out: Canon = {};
  const push = (k: string, v: unknown) => (out[k] ??= []).push(v);
  let pos = 0;
  while (pos < buf.length) {
    let tag: bigint;
    [tag, pos] = readVarint(buf, pos);
    const id = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    const field = type.fieldsById[id];
    const key = String(id).padStart(3, '0');
    let raw: Uint8Array;
    if (wt === 0) {
      const start = pos;
      [, pos] = readVarint(buf, pos);
      raw = buf.subarray(start, pos);
    } else if (wt === 1) {
      raw = buf.subarray(pos, pos + 8);
      pos += 8;
    } else if (wt === 5) {
      raw = buf.subarray(pos, pos + 4);
      pos += 4;
    } else if (wt === 2) {
      let len: bigint;
      [len, pos] = readVarint(buf, pos);
      raw = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
    } else {
      throw new Error(`${path}: wire type ${wt} not expected`);
    }
    if (!field) {
      unknown.push(`${path}.#${id}`);
      push(`${key}?unknown`, `${wt}:${hex(raw)}`);
      continue;
    }
    const kind = scalarKind(field);
    if (kind === 'message') {
      push(key, canonical(raw, field.resolvedType as protobuf.Type, unknown, `${path}.${field.name}`));
    } else if (wt === 2 && kind !== 'bytes') {
      // packed repeated scalars: split into elements
      let p = 0;
      while (p < raw.length) {
        if (kind === 'varint') {
          const s = p;
          [, p] = readVarint(raw, p);
          push(key, hex(raw.subarray(s, p)));
        } else {
          const w = kind === 'fixed64' ? 8 : 4;
          push(key, hex(raw.subarray(p, p + w)));
          p += w;
        }
      }
    } else {
      push(key, hex(raw));
    }
  }
  const sorted: Canon = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k];
  return sorted;
}

export function canonicalModel(bytes: Uint8Array): { tree: Canon; unknown: string[] } {
  const unknown: string[] = [];
  const tree = canonical(bytes, onnxProtoRoot().lookupType('onnx.ModelProto'), unknown);
  return { tree, unknown };
}
