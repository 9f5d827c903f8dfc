/**
 * Protobuf encoding and decoding that walks a table built from the schema,
 * instead of protobufjs' generated code.
 *
 * Why not protobufjs' own encode/decode: it compiles a function per message
 * type with `new Function` (even resolving the schema does), and a page whose
 * Content-Security-Policy forbids 'unsafe-eval' (ours does, see
 * @onnx-explain/web's csp.ts) cannot run that. protobufjs still parses the
 * schema text, and its Reader and Writer (plain code) do the wire format.
 *
 * The behaviour is that of protobufjs' generated code, so round trips stay
 * byte-exact: fields are written in field-number order, a field is written
 * when it is an own property that is not null (and, when repeated, not
 * empty), repeated scalars are packed only where the proto2 schema says
 * [packed = true] (and read in either form), unknown fields are skipped, and
 * decoded messages are plain objects whose repeated fields are arrays (empty
 * when absent) and whose absent singular fields are absent.
 */
import * as protobuf from 'protobufjs';
import Long from 'long';

interface FieldSpec {
  id: number;
  name: string;
  /** protobufjs' scalar type name ('int64', 'bytes', ...), 'enum' (read as int32) or 'message'. */
  kind: string;
  message?: MessageSpec;
  repeated: boolean;
  packed: boolean;
  /** Wire type of one (unpacked) value. */
  wire: number;
}

export interface MessageSpec {
  name: string;
  /** By field number, ascending (the order protobufjs writes). */
  fields: FieldSpec[];
  byId: Map<number, FieldSpec>;
}

/** Deeper nesting than this (graphs in attributes in graphs ...) is refused rather than overflowing the stack. */
const MAX_DEPTH = 64;

const BASIC: Record<string, number> = protobuf.types.basic;
const PACKABLE: Record<string, number> = protobuf.types.packed;
const WIRE: Record<string, number> = { ...BASIC, enum: 0, message: 2 };

/** The encoding table of every message type under a parsed protobufjs root (proto2 semantics). */
export function messageSpecs(root: protobuf.Root): Map<string, MessageSpec> {
  const specs = new Map<string, MessageSpec>();
  const types: protobuf.Type[] = [];
  const collect = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) types.push(o);
      if (o instanceof protobuf.Namespace) collect(o); // a Type is a Namespace too (nested messages)
    }
  };
  collect(root);
  for (const t of types) specs.set(t.fullName.replace(/^\./, ''), { name: t.name, fields: [], byId: new Map() });
  for (const t of types) {
    const spec = specs.get(t.fullName.replace(/^\./, ''))!;
    for (const f of [...t.fieldsArray].sort((a, b) => a.id - b.id)) {
      if (f.map) throw new Error(`${t.name}.${f.name}: map fields are not supported`);
      let kind = f.type;
      let message: MessageSpec | undefined;
      if (BASIC[f.type] === undefined) {
        const target = t.lookupTypeOrEnum(f.type);
        if (target instanceof protobuf.Type) {
          kind = 'message';
          message = specs.get(target.fullName.replace(/^\./, ''));
        } else {
          kind = 'enum';
        }
      }
      const packable = kind === 'enum' || PACKABLE[kind] !== undefined;
      const field: FieldSpec = {
        id: f.id,
        name: f.name,
        kind,
        message,
        repeated: f.repeated,
        packed: f.repeated && packable && f.getOption('packed') === true,
        wire: WIRE[kind],
      };
      spec.fields.push(field);
      spec.byId.set(f.id, field);
    }
  }
  return specs;
}

// ---- decoding ------------------------------------------------------------

type Msg = Record<string, unknown>;

function readScalar(r: protobuf.Reader, kind: string): unknown {
  return kind === 'enum' ? r.int32() : (r as unknown as Record<string, () => unknown>)[kind]();
}

export function decodeMessage(spec: MessageSpec, r: protobuf.Reader, length?: number, depth = 0): Msg {
  if (depth > MAX_DEPTH) throw new Error(`messages are nested more than ${MAX_DEPTH} deep`);
  const end = length === undefined ? r.len : r.pos + length;
  if (end > r.len) throw new RangeError(`a ${spec.name} claims ${length} bytes, past the end of the data`);
  const m: Msg = {};
  for (const f of spec.fields) if (f.repeated) m[f.name] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    const f = spec.byId.get(tag >>> 3);
    if (!f) {
      r.skipType(wire);
      continue;
    }
    const packedForm = f.repeated && wire === 2 && f.wire !== 2;
    if (!packedForm && wire !== f.wire) {
      throw new Error(`${spec.name}.${f.name} (field ${f.id}) has wire type ${wire}, expected ${f.wire}`);
    }
    if (packedForm) {
      const list = m[f.name] as unknown[];
      const stop = r.uint32() + r.pos;
      if (stop > end) throw new RangeError(`${spec.name}.${f.name}: packed values run past the end of the message`);
      while (r.pos < stop) list.push(readScalar(r, f.kind));
      continue;
    }
    const value = f.kind === 'message' ? decodeMessage(f.message!, r, r.uint32(), depth + 1) : readScalar(r, f.kind);
    if (f.repeated) (m[f.name] as unknown[]).push(value);
    else m[f.name] = value;
  }
  if (r.pos !== end) throw new RangeError(`a ${spec.name} ends inside a field`);
  return m;
}

// ---- encoding ------------------------------------------------------------

/** Refuses a value that the Writer would silently turn into something else. */
function checkScalar(kind: string, v: unknown, path: string): void {
  const bad = (want: string) => new TypeError(`${path}: ${want} expected, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return;
    case 'bytes':
      if (!(v instanceof Uint8Array) && typeof v !== 'string') throw bad('a Uint8Array (or base64 string)');
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('a boolean');
      return;
    case 'float':
    case 'double':
      if (typeof v !== 'number') throw bad('a number');
      return;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      if (!(typeof v === 'number' && Number.isInteger(v)) && !Long.isLong(v) && !(typeof v === 'string' && /^-?\d+$/.test(v))) throw bad('an integer (number, Long or decimal string)');
      return;
    default:
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('an integer');
  }
}

function writeScalar(w: protobuf.Writer, kind: string, v: unknown, path: string): void {
  checkScalar(kind, v, path);
  if (kind === 'enum') w.int32(v as number);
  else (w as unknown as Record<string, (x: unknown) => void>)[kind](v);
}

export function encodeMessage(spec: MessageSpec, m: Msg, w: protobuf.Writer, path: string, depth = 0): protobuf.Writer {
  if (depth > MAX_DEPTH) throw new Error(`${path}: messages are nested more than ${MAX_DEPTH} deep`);
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new TypeError(`${path}: a ${spec.name} object expected`);
  for (const f of spec.fields) {
    const v = m[f.name];
    if (v === null || v === undefined || !Object.prototype.hasOwnProperty.call(m, f.name)) continue;
    const at = `${path}.${f.name}`;
    if (f.repeated) {
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new TypeError(`${at}: an array expected`);
      const list = v as ArrayLike<unknown>;
      if (!list.length) continue;
      if (f.packed) {
        w.uint32(((f.id << 3) | 2) >>> 0).fork();
        for (let i = 0; i < list.length; i++) writeScalar(w, f.kind, list[i], `${at}[${i}]`);
        w.ldelim();
      } else {
        for (let i = 0; i < list.length; i++) writeOne(w, f, list[i], `${at}[${i}]`, depth);
      }
    } else {
      writeOne(w, f, v, at, depth);
    }
  }
  return w;
}

function writeOne(w: protobuf.Writer, f: FieldSpec, v: unknown, path: string, depth: number): void {
  w.uint32(((f.id << 3) | f.wire) >>> 0);
  if (f.kind === 'message') encodeMessage(f.message!, v as Msg, w.fork(), path, depth + 1).ldelim();
  else writeScalar(w, f.kind, v, path);
}
