/**
 * Emits the nodes of a backward graph: fresh names, constants in the right
 * element type, and the ops whose signature changed across opsets written
 * in the form the model's own opset expects (ReduceSum's axes became an input
 * at 13, Squeeze/Unsqueeze/Split at 13, the other reductions at 18, Slice
 * and Pad took inputs from 10 and 11, Clip from 11). The user's nodes keep
 * their opset; everything appended here must be valid at that opset.
 */
import { toHalfBits } from '../onnx/float16';
import { DataType, type NodeProto, type TensorProto } from '../onnx/types';
import { makeNode, Attr, type AttrValue } from '../onnx/builder';
import { makeTensor, tensorToArray } from '../onnx/tensor';
import { NameScope, type GraphIndex } from '../onnx/graph';
import { nodeLabel } from '../onnx/attributes';
import { toNumber, toIndexNumber } from '../onnx/int64';
import type { ShapeTable, SymDim } from './shapes';

export class GradientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradientError';
  }
}

/** Ops whose outputs are shapes, indices or booleans whatever their inputs. */
const NOT_FLOAT_OUTPUT = new Set(['Shape', 'Size', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'IsNaN', 'IsInf', 'ConstantOfShape', 'Range', 'TopK']);
const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);
export function isFloatType(t: number | undefined): boolean {
  return t !== undefined && FLOAT_TYPES.has(t);
}

/** Most inputs one emitted Concat or Sum takes (seven, plus the output, fit WebGPU's default 8 storage buffers a stage). */
export const CONCAT_INPUTS = 7;

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly constCache = new Map<string, string>();
  private readonly shapeCache = new Map<string, string>();

  constructor(
    readonly opset: number,
    readonly names: NameScope,
    readonly shapes: ShapeTable,
    readonly index: GraphIndex,
    /** Prefix of every name this emitter creates, so backward nodes are easy to spot. */
    readonly prefix = 'grad',
  ) {}

  // ---- plumbing -------------------------------------------------------

  fresh(base: string): string {
    return this.names.fresh(`${this.prefix}/${base}`);
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, base?: string): string {
    return this.opN(opType, inputs, 1, attrs, base)[0];
  }

  opN(opType: string, inputs: string[], n: number, attrs: Record<string, AttrValue | undefined> = {}, base?: string): string[] {
    const outs = Array.from({ length: n }, () => this.fresh(base ?? opType));
    this.nodes.push(makeNode(opType, inputs, outs, attrs, { name: this.fresh(`${opType}_node`) }));
    // the float type a backward tensor carries: a Cast's target, else its first float input's (a float16
    // graph's gradients are float16 even where the explained output was cast back to float32)
    const type = opType === 'Cast' ? Number(attrs.to) : NOT_FLOAT_OUTPUT.has(opType) ? undefined : this.firstFloatType(inputs);
    if (type !== undefined && isFloatType(type)) for (const o of outs) this.created.set(o, type);
    return outs;
  }

  // ---- facts about tensors -------------------------------------------

  /** Static shape of a tensor ('N' for the batch), from the probe or the tensor's constant value. */
  shape(name: string): SymDim[] {
    const s = this.shapes.get(name);
    if (s) return s.dims;
    const c = this.index.constantValue(name) ?? this.index.initializers.get(name);
    if (c) return (c.dims ?? []).map((d) => toNumber(d));
    const declared = this.index.shape(name);
    if (declared && declared.every((d) => d !== null)) return declared as SymDim[];
    throw new GradientError(`the shape of tensor '${name}' is unknown; the gradient rules need it`);
  }

  rank(name: string): number {
    return this.shape(name).length;
  }

  elemType(name: string): number {
    const s = this.shapes.get(name);
    if (s) return s.type;
    const t = this.index.elemType(name) ?? this.created.get(name);
    if (t !== undefined) return t;
    // a backward tensor: gradients carry the float type of what is differentiated
    if (name.startsWith(`${this.prefix}/`) && this.floatType !== undefined) return this.floatType;
    throw new GradientError(`the element type of tensor '${name}' is unknown`);
  }

  private firstFloatType(inputs: string[]): number | undefined {
    for (const i of inputs) {
      if (!i) continue;
      const t = this.shapes.get(i)?.type ?? this.index.elemType(i) ?? this.created.get(i);
      if (t !== undefined && isFloatType(t)) return t;
    }
    return undefined;
  }

  /** Float type of the gradients (the type of the differentiated output). */
  floatType?: number;
  private readonly created = new Map<string, number>();

  /** Static dims as numbers, or an error naming the op when one depends on the batch. */
  staticDims(name: string, node: NodeProto): number[] {
    const dims = this.shape(name);
    if (!dims.every((d) => typeof d === 'number')) {
      throw new GradientError(`${nodeLabel(node)}: the gradient rule needs the static shape of '${name}', which is [${dims.join(', ')}]`);
    }
    return dims as number[];
  }

  /** Static spatial dims (all but the first two axes), or an error naming the op. */
  spatialDims(name: string, node: NodeProto): number[] {
    const dims = this.shape(name).slice(2);
    if (!dims.every((d) => typeof d === 'number')) {
      throw new GradientError(`${nodeLabel(node)}: the gradient rule needs static spatial sizes of '${name}', which has shape [${this.shape(name).join(', ')}]`);
    }
    return dims as number[];
  }

  /**
   * The constant value of an input as numbers: an initializer, a Constant, or
   * a small integer tensor whose value the shape probe saw fixed. Undefined
   * when it is not constant.
   */
  constantInts(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const t = this.index.constantValue(name);
    if (!t) return this.shapes.get(name)?.value;
    const values = tensorToArray(t);
    if (Array.isArray(values)) return undefined;
    return Array.from(values as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? toIndexNumber(v) : v));
  }

  /** A constant float32 tensor's values (weights), or undefined. */
  constantFloats(name: string): Float32Array | undefined {
    const t = this.index.constantValue(name);
    if (!t || t.dataType !== DataType.FLOAT) return undefined;
    return tensorToArray(t) as Float32Array;
  }

  // ---- constants ------------------------------------------------------

  /** A constant in the element type of `like` (float32 unless told otherwise). */
  constF(values: number[], dims: number[] = [], like?: string | number): string {
    const type = typeof like === 'number' ? like : like ? this.elemType(like) : DataType.FLOAT;
    const key = `${type}|${dims.join(',')}|${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    let data;
    if (type === DataType.DOUBLE) data = Float64Array.from(values);
    else if (type === DataType.FLOAT) data = Float32Array.from(values);
    // a float16 model's constants as their binary16 bits
    else if (type === DataType.FLOAT16) data = Uint16Array.from(values, toHalfBits);
    else throw new GradientError(`constants of element type ${type} are not supported in backward graphs`);
    const name = this.fresh('const');
    this.initializers.push(makeTensor(name, data, dims, type));
    this.created.set(name, type);
    this.constCache.set(key, name);
    return name;
  }

  constI64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64|${dims.join(',')}|${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const');
    this.initializers.push(makeTensor(name, BigInt64Array.from(values.map(BigInt)), dims));
    this.created.set(name, DataType.INT64);
    this.constCache.set(key, name);
    return name;
  }

  /** A constant tensor of arbitrary float values (interpolation matrices, divisor maps). */
  constTensor(data: Float32Array, dims: number[], like?: string): string {
    const type = like ? this.elemType(like) : DataType.FLOAT;
    const name = this.fresh('const');
    const values = type === DataType.DOUBLE ? Float64Array.from(data) : type === DataType.FLOAT16 ? Uint16Array.from(data, toHalfBits) : data;
    this.initializers.push(makeTensor(name, values, dims, type));
    this.created.set(name, type);
    return name;
  }

  // ---- small op helpers ----------------------------------------------

  shapeOf(name: string): string {
    let s = this.shapeCache.get(name);
    if (!s) {
      s = this.op('Shape', [name]);
      this.shapeCache.set(name, s);
    }
    return s;
  }

  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op('Div', [a, b]); }
  neg(a: string): string { return this.op('Neg', [a]); }

  /** x * c for a scalar constant c, in x's type. */
  scale(x: string, c: number): string {
    return c === 1 ? x : this.mul(x, this.constF([c], [], x));
  }

  /** Cast of a boolean (or any) tensor to the element type of `like`. */
  castLike(x: string, like: string): string {
    return this.op('Cast', [x], { to: this.elemType(like) });
  }

  /** a where cond, else b (broadcasting); Where exists from opset 9, before it a blend. */
  select(cond: string, a: string, b: string): string {
    if (this.opset >= 9) return this.op('Where', [cond, a, b]);
    const m = this.op('Cast', [cond], { to: this.elemType(a) });
    const notM = this.op('Cast', [this.op('Not', [cond])], { to: this.elemType(a) });
    return this.add(this.mul(a, m), this.mul(b, notM));
  }

  /** dY where mask, else 0 (mask: bool, broadcastable). */
  maskWhere(mask: string, dy: string): string {
    if (this.opset < 9) return this.mul(dy, this.op('Cast', [mask], { to: this.elemType(dy) }));
    return this.op('Where', [mask, dy, this.constF([0], [], dy)]);
  }

  /** x broadcast to the shape of `like`; Expand exists from opset 8, before it an Add of zeros. */
  expandLike(x: string, like: string): string {
    if (this.opset >= 8) return this.op('Expand', [x, this.shapeOf(like)]);
    return this.add(x, this.mul(like, this.constF([0], [], like)));
  }

  reshapeLike(x: string, like: string): string {
    return this.op('Reshape', [x, this.shapeOf(like)]);
  }

  reshape(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.constI64(dims)]);
  }

  transpose(x: string, perm: number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    return this.op('Transpose', [x], { perm });
  }

  unsqueeze(x: string, axes: number[]): string {
    if (!axes.length) return x;
    return this.opset >= 13 ? this.op('Unsqueeze', [x, this.constI64(axes)]) : this.op('Unsqueeze', [x], { axes });
  }

  squeeze(x: string, axes: number[]): string {
    if (!axes.length) return x;
    return this.opset >= 13 ? this.op('Squeeze', [x, this.constI64(axes)]) : this.op('Squeeze', [x], { axes });
  }

  /** Reduce op with axes written as the opset wants them. Empty axes = identity. */
  reduce(opType: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceProd', x: string, axes: number[], keepdims: boolean): string {
    if (!axes.length) return x;
    const axesAsInput = opType === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    return axesAsInput
      ? this.op(opType, [x, this.constI64(axes)], { keepdims: keepdims ? 1 : 0 })
      : this.op(opType, [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }

  /** Slice of x along axes, [starts, ends) with steps. */
  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
    if (this.opset >= 10) {
      const ins = [x, this.constI64(starts), this.constI64(ends), this.constI64(axes)];
      if (steps) ins.push(this.constI64(steps));
      return this.op('Slice', ins);
    }
    if (steps && steps.some((s) => s !== 1)) throw new GradientError(`Slice with steps needs opset 10, the model has ${this.opset}`);
    return this.op('Slice', [x], { starts, ends, axes });
  }

  /** Constant padding (zeros unless told); pads as ONNX orders them: all begins, then all ends. */
  pad(x: string, pads: number[], value = 0): string {
    if (pads.every((p) => p === 0)) return x;
    if (this.opset >= 11) {
      const ins = [x, this.constI64(pads)];
      if (value !== 0) ins.push(this.constF([value], [], x));
      return this.op('Pad', ins, { mode: 'constant' });
    }
    return this.op('Pad', [x], { pads, mode: 'constant', value: Attr.float(value) });
  }

  /**
   * Concat along an axis, at most CONCAT_INPUTS inputs a node: onnxruntime-web's
   * WebGPU kernel binds every input and the output as storage buffers, and
   * past the default limit of 8 a stage its pipeline is invalid and the
   * output silently wrong (seen on mnist-8's 3x3 MaxPool gradient, nine
   * inputs). Longer lists are concatenated in groups, then the groups.
   */
  concat(xs: string[], axis: number): string {
    return this.inGroups(xs, (group) => this.op('Concat', group, { axis }));
  }

  /** The element-wise sum of several tensors, in groups of at most CONCAT_INPUTS (WebGPU's Sum binds each input, as Concat does). */
  sumAll(xs: string[]): string {
    return this.inGroups(xs, (group) => this.op('Sum', group));
  }

  /** `combine` over at most CONCAT_INPUTS tensors a node: in groups, then over the groups' results. */
  private inGroups(xs: string[], combine: (group: string[]) => string): string {
    if (xs.length === 1) return xs[0];
    if (xs.length <= CONCAT_INPUTS) return combine(xs);
    const groups: string[] = [];
    for (let i = 0; i < xs.length; i += CONCAT_INPUTS) groups.push(this.inGroups(xs.slice(i, i + CONCAT_INPUTS), combine));
    return this.inGroups(groups, combine);
  }

  /** Zeros shaped like x, in x's type. */
  zerosLike(x: string): string {
    return this.expandLike(this.constF([0], [], x), x);
  }

  /**
   * Sums a gradient that has the shape of a broadcast result down to the
   * shape of one operand: leading axes the operand lacks, and axes where the
   * operand has size 1 and the result does not. Decided on static shapes,
   * where the batch dimension is the symbol 'N' on both sides.
   */
  sumTo(grad: string, resultShape: SymDim[], target: string): string {
    const t = this.shape(target);
    const lead = resultShape.length - t.length;
    if (lead < 0) throw new GradientError(`cannot sum a gradient of rank ${resultShape.length} to '${target}' of rank ${t.length}`);
    const axes: number[] = [];
    for (let i = 0; i < resultShape.length; i++) {
      if (i < lead) axes.push(i);
      else if (t[i - lead] === 1 && resultShape[i] !== 1) axes.push(i);
      else if (t[i - lead] !== resultShape[i]) {
        throw new GradientError(`cannot sum a gradient of shape [${resultShape.join(', ')}] to '${target}' of shape [${t.join(', ')}]`);
      }
    }
    if (!axes.length) return grad;
    const summed = this.reduceSum(grad, axes, true);
    return this.reshapeLike(summed, target);
  }
}
