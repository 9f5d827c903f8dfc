/**
 * Lossless ModelProto decoding and encoding with protobufjs.
 *
 * The schema (schema.ts) covers every field of ONNX IR 12, so decoding keeps
 * every field a model has and encoding writes each one back. Absent proto2
 * fields stay absent (protobufjs only writes own properties), so a round trip
 * does not invent default values either.
 */
import * as protobuf from 'protobufjs';
import Long from 'long';
import { ONNX_PROTO_SCHEMA } from './schema';
import type { ModelProto, TensorProto, GraphProto } from './types';

// protobufjs looks Long up with a dynamic require that bundlers and browsers
// do not resolve; hand it over explicitly so int64 fields decode exactly.
(protobuf.util as { Long: unknown }).Long = Long;
protobuf.configure();

const root = protobuf.parse(ONNX_PROTO_SCHEMA, { keepCase: false }).root;
root.resolveAll();
const ModelType = root.lookupType('onnx.ModelProto');
const TensorType = root.lookupType('onnx.TensorProto');
const GraphType = root.lookupType('onnx.GraphProto');

/** Raised when bytes are not an ONNX model (wrong file, truncated file). */
export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** The protobufjs root of the ONNX schema, for callers that need other messages. */
export function onnxProtoRoot(): protobuf.Root {
  return root;
}

/**
 * Decodes a serialized ModelProto. `source` names the bytes in error messages
 * (a file path, a URL).
 */
export function decodeModel(bytes: Uint8Array, source = 'input'): ModelProto {
  let model: ModelProto;
  try {
    model = ModelType.decode(bytes) as unknown as ModelProto;
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

function encodeWith(type: protobuf.Type, message: object, what: string): Uint8Array {
  try {
    return type.encode(message as protobuf.Message).finish();
  } catch (e) {
    const problem = type.verify(message as { [k: string]: unknown });
    throw new OnnxFormatError(`cannot encode ${what}: ${problem ?? (e as Error).message}`);
  }
}

/** Encodes a ModelProto to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return encodeWith(ModelType, model, 'ModelProto');
}

export function encodeTensor(tensor: TensorProto): Uint8Array {
  return encodeWith(TensorType, tensor, 'TensorProto');
}

export function decodeTensor(bytes: Uint8Array): TensorProto {
  return TensorType.decode(bytes) as unknown as TensorProto;
}

export function encodeGraph(graph: GraphProto): Uint8Array {
  return encodeWith(GraphType, graph, 'GraphProto');
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
