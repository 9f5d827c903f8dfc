/**
 * Lossless ModelProto decoding and encoding.
 *
 * The schema (schema.ts) covers every field of ONNX IR 12, so decoding keeps
 * every field a model has and encoding writes each one back. Absent proto2
 * fields stay absent (only own properties are written), so a round trip does
 * not invent default values either. protobufjs parses the schema and does the
 * wire format; protoCodec.ts walks the messages without generated code, so
 * core runs under a Content-Security-Policy that forbids eval.
 */
import * as protobuf from 'protobufjs';
import Long from 'long';
import { ONNX_PROTO_SCHEMA } from './schema';
import { messageSpecs, decodeMessage, encodeMessage, type MessageSpec } from './protoCodec';
import type { ModelProto, TensorProto, GraphProto } from './types';

// protobufjs looks Long up with a dynamic require that bundlers and browsers
// do not resolve; hand it over explicitly so int64 fields decode exactly.
(protobuf.util as { Long: unknown }).Long = Long;
protobuf.configure();

const root = protobuf.parse(ONNX_PROTO_SCHEMA, { keepCase: false }).root;
const specs = messageSpecs(root);
const ModelSpec = specs.get('onnx.ModelProto')!;
const TensorSpec = specs.get('onnx.TensorProto')!;
const GraphSpec = specs.get('onnx.GraphProto')!;

/** Raised when bytes are not an ONNX model (wrong file, truncated file). */
export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

let resolved = false;
/**
 * The protobufjs root of the ONNX schema, resolved, for callers that need
 * protobufjs reflection (resolving compiles code with `new Function`, so this
 * is for Node tools and tests, not for pages under a strict CSP).
 */
export function onnxProtoRoot(): protobuf.Root {
  if (!resolved) root.resolveAll();
  resolved = true;
  return root;
}

function decodeWith<T>(spec: MessageSpec, bytes: Uint8Array): T {
  return decodeMessage(spec, protobuf.Reader.create(bytes)) as T;
}

/**
 * Decodes a serialized ModelProto. `source` names the bytes in error messages
 * (a file path, a URL).
 */
export function decodeModel(bytes: Uint8Array, source = 'input'): ModelProto {
  let model: ModelProto;
  try {
    model = decodeWith<ModelProto>(ModelSpec, bytes);
  } catch (e) {
    throw new OnnxFormatError(
      `${source} is not an ONNX model: protobuf decoding failed (${(e as Error).message})`,
    );
  }
  // Random bytes occasionally decode as a protobuf message; a real model has
  // an IR version and a graph.
  if (!Object.prototype.hasOwnProperty.call(model, 'irVersion') || !model.graph) {
    throw new OnnxFormatError(
      `${source} is not an ONNX model: it has no ${model.graph ? 'ir_version' : 'graph'}`,
    );
  }
  return model;
}

function encodeWith(spec: MessageSpec, message: object, what: string): Uint8Array {
  try {
    return encodeMessage(spec, message as Record<string, unknown>, protobuf.Writer.create(), what).finish();
  } catch (e) {
    throw new OnnxFormatError(`cannot encode ${(e as Error).message}`);
  }
}

/** Encodes a ModelProto to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return encodeWith(ModelSpec, model, 'ModelProto');
}

export function encodeTensor(tensor: TensorProto): Uint8Array {
  return encodeWith(TensorSpec, tensor, 'TensorProto');
}

export function decodeTensor(bytes: Uint8Array): TensorProto {
  return decodeWith<TensorProto>(TensorSpec, bytes);
}

export function encodeGraph(graph: GraphProto): Uint8Array {
  return encodeWith(GraphSpec, graph, 'GraphProto');
}

/**
 * A deep copy of a model that the caller may change freely. Byte buffers
 * (raw tensor data) are shared, not copied: nothing in this library writes
 * into them, and copying weights would double the memory of large models.
 */
export function cloneModel(model: ModelProto): ModelProto {
  return deepClone(model) as ModelProto;
}

function deepClone(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v) || Long.isLong(v)) return v;
  if (Array.isArray(v)) return v.map(deepClone);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = deepClone((v as Record<string, unknown>)[k]);
  return out;
}
