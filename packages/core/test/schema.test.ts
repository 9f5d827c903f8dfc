/**
 * Every field of every message of the ONNX IR survives decode -> encode.
 * A generator walks the schema and sets each field of each message type
 * (each member of each oneof too); the test checks that coverage, then
 * compares the bytes before and after a round trip, also with the
 * independent wire reader.
 */
import type * as protobuf from 'protobufjs';
import { onnxProtoRoot, decodeModel, encodeModel } from '@onnx-explain/core';
import { canonical, canonicalModel } from '../../../test/helpers/wire';

const root = onnxProtoRoot();

function messageTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of ns.nestedArray) {
    if ((nested as protobuf.Type).fieldsArray) out.push(nested as protobuf.Type);
    if ((nested as protobuf.Namespace).nestedArray) messageTypes(nested as protobuf.Namespace, out);
  }
  return out;
}

/**
 * Instances of one message type in which every field is set: repeated fields
 * get two values, sub-messages get their scalar fields (one level deep, which
 * is all a schema check needs), and each member of each oneof gets a variant
 * of its own.
 */
function instancesOf(type: protobuf.Type): Record<string, unknown>[] {
  let counter = 0;
  const scalar = (f: protobuf.Field): unknown => {
    counter++;
    if (f.resolvedType && !(f.resolvedType as protobuf.Type).fieldsArray) {
      const values = Object.values((f.resolvedType as protobuf.Enum).values);
      return values[counter % values.length];
    }
    switch (f.type) {
      case 'string': return `${f.name}_${counter}`;
      case 'bytes': return new Uint8Array([counter % 256, 7, 0, 255]);
      case 'float': case 'double': return counter + 0.25;
      case 'int64': return counter % 2 ? -counter * 1_000_003 : counter * 1_000_003; // negative int64 too
      case 'uint64': return counter * 1_000_003;
      default: return counter;
    }
  };
  const fill = (t: protobuf.Type, deep: boolean, choice: Map<protobuf.OneOf, protobuf.Field>): Record<string, unknown> => {
    const msg: Record<string, unknown> = {};
    for (const f of t.fieldsArray) {
      if (f.partOf && choice.get(f.partOf) !== f && !(!choice.has(f.partOf) && f.partOf.fieldsArray[0] === f)) continue;
      const sub = f.resolvedType as protobuf.Type | null;
      const one = () => (sub && sub.fieldsArray ? (deep ? fill(sub, false, new Map()) : {}) : scalar(f));
      msg[f.name] = f.repeated ? [one(), one()] : one();
    }
    return msg;
  };
  const variants: Map<protobuf.OneOf, protobuf.Field>[] = [new Map()];
  for (const o of type.oneofsArray) for (const f of o.fieldsArray) variants.push(new Map([[o, f]]));
  return variants.map((v) => fill(type, true, v));
}

describe('every field of every ONNX message type round-trips exactly', () => {
  for (const type of messageTypes(root)) {
    test(type.fullName.slice(1), () => {
      const covered = new Set<string>();
      for (const msg of instancesOf(type)) {
        Object.keys(msg).forEach((k) => covered.add(k));
        const bytes = type.encode(msg).finish();
        const again = type.encode(type.decode(bytes)).finish();
        const unknown: string[] = [];
        const tree = canonical(bytes, type, unknown);
        expect(unknown).toEqual([]);
        expect(canonical(again, type)).toEqual(tree);
        expect(again).toEqual(bytes);
      }
      expect([...covered].sort()).toEqual(type.fieldsArray.map((f) => f.name).sort());
    });
  }
});

function sinkModel(): Record<string, unknown> {
  const m = instancesOf(root.lookupType('onnx.ModelProto'))[0];
  m.graph = instancesOf(root.lookupType('onnx.GraphProto'))[0];
  return m;
}

test('a ModelProto with every field set goes through decodeModel/encodeModel unchanged', () => {
  const bytes = encodeModel(sinkModel() as never);
  const again = encodeModel(decodeModel(bytes));
  const a = canonicalModel(bytes);
  expect(a.unknown).toEqual([]);
  expect(canonicalModel(again).tree).toEqual(a.tree);
  expect(again).toEqual(bytes);
});

test('the schema has the IR 10-12 fields that older schemas lack', () => {
  const field = (type: string, name: string) => root.lookupType(type).fields[name]?.id;
  expect(field('onnx.NodeProto', 'overload')).toBe(8);
  expect(field('onnx.NodeProto', 'metadataProps')).toBe(9);
  expect(field('onnx.FunctionProto', 'valueInfo')).toBe(12);
  expect(field('onnx.FunctionProto', 'overload')).toBe(13);
  expect(field('onnx.FunctionProto', 'attributeProto')).toBe(11);
  expect(field('onnx.GraphProto', 'metadataProps')).toBe(16);
  expect(field('onnx.ModelProto', 'configuration')).toBe(26);
  expect(field('onnx.AttributeProto', 'typeProtos')).toBe(15);
});

test('the wire reader sees a dropped field and an unknown field', () => {
  const model = sinkModel();
  const bytes = encodeModel(model as never);
  const without = { ...model };
  delete without.docString;
  expect(canonicalModel(encodeModel(without as never)).tree).not.toEqual(canonicalModel(bytes).tree);
  // field 99, varint 1: unknown to the schema
  const withUnknown = new Uint8Array([...bytes, 0x98, 0x06, 0x01]);
  expect(canonicalModel(withUnknown).unknown).toEqual(['ModelProto.#99']);
});

test('field numbers, types and packing agree with the onnx package\'s compiled schema (onnx 1.12, IR 8)', () => {
  // Dumped by models/dump_onnx_schema.py from Debian's python3-onnx: an
  // independent source for every field that existed up to IR 8.
  const ref = require('../../../test/fixtures/onnx_pb2_fields.json') as {
    fields: { message: string; name: string; number: number; type: string; repeated: boolean; packed: boolean }[];
  };
  const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const problems: string[] = [];
  for (const r of ref.fields) {
    const type = root.lookupType(`onnx.${r.message}`);
    const f = type.fields[camel(r.name)];
    if (!f) { problems.push(`${r.message}.${r.name} missing`); continue; }
    const ourType = f.resolvedType ? ((f.resolvedType as protobuf.Type).fieldsArray ? 'message' : 'enum') : f.type;
    if (f.id !== r.number) problems.push(`${r.message}.${r.name}: number ${f.id}, onnx has ${r.number}`);
    if (ourType !== r.type) problems.push(`${r.message}.${r.name}: type ${ourType}, onnx has ${r.type}`);
    if (f.repeated !== r.repeated) problems.push(`${r.message}.${r.name}: repeated ${f.repeated}`);
    if (f.repeated && ourType !== 'message' && ourType !== 'string' && ourType !== 'bytes' && f.packed !== r.packed) {
      problems.push(`${r.message}.${r.name}: packed ${f.packed}, onnx has ${r.packed}`);
    }
  }
  expect(ref.fields.length).toBeGreaterThan(100);
  expect(problems).toEqual([]);
});
