/**
 * Typed reads of node attributes. Each getter names the node and attribute in
 * its error, because "expected INTS" without a node name is useless in a
 * graph of a thousand nodes.
 */
import { AttributeType, type AttributeProto, type NodeProto, type TensorProto, type GraphProto } from './types';
import { toIndexNumber } from './int64';
import { utf8Decode } from './utf8';

export function nodeLabel(node: NodeProto): string {
  return `${node.opType ?? '?'} node '${node.name || node.output?.[0] || '(unnamed)'}'`;
}

export function findAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function expect(node: NodeProto, a: AttributeProto, type: number, typeName: string): void {
  // IR < 2 models carry no type discriminator; trust the field then.
  if (a.type !== undefined && a.type !== AttributeType.UNDEFINED && a.type !== type) {
    throw new TypeError(`${nodeLabel(node)}: attribute '${a.name}' is not ${typeName}`);
  }
}

export function attrInt(node: NodeProto, name: string): number | undefined;
export function attrInt(node: NodeProto, name: string, dflt: number): number;
export function attrInt(node: NodeProto, name: string, dflt?: number): number | undefined {
  const a = findAttribute(node, name);
  if (!a) return dflt;
  expect(node, a, AttributeType.INT, 'an INT');
  // INT64_MAX / INT64_MIN (Slice's "to the end") saturate: see toIndexNumber
  return toIndexNumber(a.i);
}

export function attrFloat(node: NodeProto, name: string): number | undefined;
export function attrFloat(node: NodeProto, name: string, dflt: number): number;
export function attrFloat(node: NodeProto, name: string, dflt?: number): number | undefined {
  const a = findAttribute(node, name);
  if (!a) return dflt;
  expect(node, a, AttributeType.FLOAT, 'a FLOAT');
  return a.f ?? 0;
}

export function attrString(node: NodeProto, name: string): string | undefined;
export function attrString(node: NodeProto, name: string, dflt: string): string;
export function attrString(node: NodeProto, name: string, dflt?: string): string | undefined {
  const a = findAttribute(node, name);
  if (!a) return dflt;
  expect(node, a, AttributeType.STRING, 'a STRING');
  return a.s ? utf8Decode(a.s) : '';
}

export function attrInts(node: NodeProto, name: string): number[] | undefined;
export function attrInts(node: NodeProto, name: string, dflt: number[]): number[];
export function attrInts(node: NodeProto, name: string, dflt?: number[]): number[] | undefined {
  const a = findAttribute(node, name);
  if (!a) return dflt;
  expect(node, a, AttributeType.INTS, 'INTS');
  return (a.ints ?? []).map((v) => toIndexNumber(v));
}

export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = findAttribute(node, name);
  if (!a) return undefined;
  expect(node, a, AttributeType.FLOATS, 'FLOATS');
  return [...(a.floats ?? [])];
}

export function attrStrings(node: NodeProto, name: string): string[] | undefined {
  const a = findAttribute(node, name);
  if (!a) return undefined;
  expect(node, a, AttributeType.STRINGS, 'STRINGS');
  return (a.strings ?? []).map((s) => utf8Decode(s));
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  const a = findAttribute(node, name);
  if (!a) return undefined;
  expect(node, a, AttributeType.TENSOR, 'a TENSOR');
  return a.t;
}

export function attrGraph(node: NodeProto, name: string): GraphProto | undefined {
  const a = findAttribute(node, name);
  if (!a) return undefined;
  expect(node, a, AttributeType.GRAPH, 'a GRAPH');
  return a.g;
}
