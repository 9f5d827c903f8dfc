/**
 * A small builder for ONNX graphs, used by tests (to make graphs op by op) and
 * by the graph rewriter (to append nodes with fresh names).
 *
 *   const b = new GraphBuilder('mlp');
 *   const x = b.input('x', DataType.FLOAT, ['N', 3]);
 *   const w = b.constant(new Float32Array(12), [3, 4]);
 *   const y = b.op('Relu', [b.op('MatMul', [x, w])]);
 *   b.output(y, DataType.FLOAT, ['N', 4]);
 *   const model = makeModel(b.build(), { opset: 17 });
 */
import { AttributeType, type AttributeProto, type FunctionProto, type GraphProto, type ModelProto, type NodeProto, type OperatorSetIdProto, type TensorProto, type ValueInfoProto, type TypeProto } from './types';
import { makeTensor, type TensorData } from './tensor';
import { NameScope, type Dim } from './graph';
import { utf8Encode } from './utf8';

/** Explicitly typed attribute values, for when a JS value is ambiguous (1 as a float). */
export class TypedAttr {
  constructor(readonly type: number, readonly value: unknown) {}
}
export const Attr = {
  float: (v: number) => new TypedAttr(AttributeType.FLOAT, v),
  floats: (v: number[]) => new TypedAttr(AttributeType.FLOATS, v),
  int: (v: number) => new TypedAttr(AttributeType.INT, v),
  ints: (v: number[]) => new TypedAttr(AttributeType.INTS, v),
  string: (v: string) => new TypedAttr(AttributeType.STRING, v),
  strings: (v: string[]) => new TypedAttr(AttributeType.STRINGS, v),
  graphs: (v: GraphProto[]) => new TypedAttr(AttributeType.GRAPHS, v),
  tensors: (v: TensorProto[]) => new TypedAttr(AttributeType.TENSORS, v),
  /** A reference to an attribute of the enclosing function. */
  ref: (parentName: string, type: number) => new TypedAttr(-1, { parentName, type }),
};

/**
 * JS values map to attribute types by shape: integer -> INT, other number ->
 * FLOAT, string -> STRING, number[] -> INTS when all are integers else FLOATS,
 * string[] -> STRINGS, TensorProto -> TENSOR, GraphProto -> GRAPH.
 */
export type AttrValue = number | string | number[] | string[] | TensorProto | GraphProto | TypedAttr;

function isGraph(v: object): v is GraphProto {
  return 'node' in v || 'output' in v || 'input' in v;
}

export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  if (value instanceof TypedAttr) {
    const v = value.value as never;
    switch (value.type) {
      case AttributeType.FLOAT: return { name, type: value.type, f: v };
      case AttributeType.FLOATS: return { name, type: value.type, floats: v };
      case AttributeType.INT: return { name, type: value.type, i: v };
      case AttributeType.INTS: return { name, type: value.type, ints: v };
      case AttributeType.STRING: return { name, type: value.type, s: utf8Encode(v) };
      case AttributeType.STRINGS: return { name, type: value.type, strings: (v as string[]).map(utf8Encode) };
      case AttributeType.GRAPHS: return { name, type: value.type, graphs: v };
      case AttributeType.TENSORS: return { name, type: value.type, tensors: v };
      case -1: {
        const r = value.value as { parentName: string; type: number };
        return { name, type: r.type, refAttrName: r.parentName };
      }
    }
    throw new Error(`attribute '${name}': unsupported typed value`);
  }
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: utf8Encode(value) };
  if (Array.isArray(value)) {
    if (value.every((x) => typeof x === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: (value as string[]).map(utf8Encode) };
    }
    const nums = value as number[];
    return nums.every(Number.isInteger)
      ? { name, type: AttributeType.INTS, ints: nums }
      : { name, type: AttributeType.FLOATS, floats: nums };
  }
  if (isGraph(value)) return { name, type: AttributeType.GRAPH, g: value };
  return { name, type: AttributeType.TENSOR, t: value as TensorProto };
}

export interface NodeOptions {
  name?: string;
  domain?: string;
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue | undefined> = {},
  opts: NodeOptions = {},
): NodeProto {
  const node: NodeProto = { opType, input: inputs, output: outputs };
  if (opts.name) node.name = opts.name;
  if (opts.domain) node.domain = opts.domain;
  const attribute = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => makeAttribute(k, v as AttrValue));
  if (attribute.length) node.attribute = attribute;
  return node;
}

/** A tensor type; shape undefined means "rank unknown", a null dim means "unknown size". */
export function makeTensorType(elemType: number, shape?: readonly Dim[]): TypeProto {
  const tensorType: NonNullable<TypeProto['tensorType']> = { elemType };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { tensorType };
}

export function makeValueInfo(name: string, elemType: number, shape?: readonly Dim[]): ValueInfoProto {
  return { name, type: makeTensorType(elemType, shape) };
}

export interface ModelOptions {
  /** Version of the default ONNX domain. */
  opset?: number;
  /** More domains (custom function domains, ai.onnx.ml). */
  extraOpsets?: { domain: string; version: number }[];
  irVersion?: number;
  functions?: FunctionProto[];
  producerName?: string;
}

/** The IR version that a given default-domain opset was released with (onnx/docs/Versioning.md). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

export function makeModel(graph: GraphProto, opts: ModelOptions = {}): ModelProto {
  const opset = opts.opset ?? 17;
  const opsetImport: OperatorSetIdProto[] = [{ domain: '', version: opset }];
  for (const o of opts.extraOpsets ?? []) opsetImport.push({ domain: o.domain, version: o.version });
  const model: ModelProto = {
    irVersion: opts.irVersion ?? irVersionForOpset(opset),
    opsetImport,
    producerName: opts.producerName ?? 'onnx-explain',
    graph,
  };
  if (opts.functions?.length) model.functions = opts.functions;
  return model;
}

/** Builds one graph node by node, with names that cannot clash. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly valueInfo: ValueInfoProto[] = [];

  constructor(
    readonly name = 'graph',
    readonly names: NameScope = new NameScope(),
  ) {}

  input(name: string, elemType: number, shape?: readonly Dim[]): string {
    this.names.reserve(name);
    this.inputs.push(makeValueInfo(name, elemType, shape));
    return name;
  }

  output(name: string, elemType: number, shape?: readonly Dim[]): string {
    this.outputs.push(makeValueInfo(name, elemType, shape));
    return name;
  }

  /** A constant tensor, stored as an initializer; returns its name. */
  constant(data: TensorData, dims: readonly number[], opts: { name?: string; dataType?: number } = {}): string {
    const name = opts.name ? opts.name : this.names.fresh('const');
    this.names.reserve(name);
    this.initializers.push(makeTensor(name, data, dims, opts.dataType));
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, opts: NodeOptions & { output?: string } = {}): string {
    return this.opN(opType, inputs, 1, attrs, { ...opts, outputs: opts.output ? [opts.output] : undefined })[0];
  }

  /** Adds a node with n outputs (or the given output names) and returns the output names. */
  opN(
    opType: string,
    inputs: string[],
    n: number,
    attrs: Record<string, AttrValue | undefined> = {},
    opts: NodeOptions & { outputs?: string[] } = {},
  ): string[] {
    const nodeName = this.names.fresh(opts.name ?? `${opType}_node`);
    const base = opType.toLowerCase();
    const outputs = opts.outputs ?? Array.from({ length: n }, (_, i) => this.names.fresh(n === 1 ? base : `${base}_out${i}`));
    for (const o of outputs) this.names.reserve(o);
    this.nodes.push(makeNode(opType, inputs, outputs, attrs, { name: nodeName, domain: opts.domain }));
    return outputs;
  }

  build(): GraphProto {
    const g: GraphProto = {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
    };
    if (this.valueInfo.length) g.valueInfo = this.valueInfo;
    return g;
  }
}
