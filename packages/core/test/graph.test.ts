import {
  DataType,
  GraphBuilder,
  GraphIndex,
  NameScope,
  makeModel,
  makeNode,
  makeTensor,
  tensorToArray,
  opsetVersion,
  nodeDependencies,
  attrInt,
  attrInts,
  attrFloat,
  attrString,
  Attr,
  decodeModel,
  encodeModel,
  summarizeModel,
  checkInput,
  type NodeProto,
} from '@onnx-explain/core';
import { controlFlowModel } from '../../../test/helpers/edgeModels';

function diamond() {
  const b = new GraphBuilder('diamond');
  const x = b.input('x', DataType.FLOAT, ['N', 4]);
  const w = b.constant(new Float32Array(8).fill(0.5), [4, 2], { name: 'w' });
  const left = b.op('Relu', [x], {}, { output: 'left' });
  const right = b.op('Sigmoid', [x], {}, { output: 'right' });
  const sum = b.op('Add', [left, right], {}, { output: 'sum' });
  const shape = b.constant(new BigInt64Array([-1n, 4n]), [2], { name: 'shape' });
  const flat = b.op('Reshape', [sum, shape], {}, { output: 'flat' });
  const y = b.op('MatMul', [flat, w], {}, { output: 'y' });
  b.output(y, DataType.FLOAT, ['N', 2]);
  const g = b.build();
  g.node!.push(makeNode('Constant', [], ['k'], { value_floats: Attr.floats([1, 2]) }));
  return makeModel(g, { opset: 14 });
}

describe('GraphIndex', () => {
  test('producers, consumers, initializers, constants and shapes', () => {
    const model = diamond();
    const idx = new GraphIndex(model.graph!);
    expect(idx.producer('sum')!.node.opType).toBe('Add');
    expect(idx.producer('x')).toBeUndefined();
    expect(idx.consumersOf('x').map((c) => c.node.opType).sort()).toEqual(['Relu', 'Sigmoid']);
    expect(idx.consumersOf('flat').map((c) => [c.node.opType, c.inputIndex])).toEqual([['MatMul', 0]]);
    expect(idx.isConstant('w')).toBe(true);
    expect(idx.isConstant('x')).toBe(false);
    expect(Array.from(tensorToArray(idx.constantValue('k')!) as Float32Array)).toEqual([1, 2]);
    expect(idx.shape('x')).toEqual(['N', 4]);
    expect(idx.shape('w')).toEqual([4, 2]);
    expect(idx.shape('sum')).toBeUndefined();
    expect(idx.elemType('shape')).toBe(DataType.INT64);
  });

  test('an initializer that is also a graph input is an overridable default, not a constant', () => {
    const model = diamond();
    model.graph!.input!.push({ name: 'w' });
    expect(new GraphIndex(model.graph!).isConstant('w')).toBe(false);
  });

  test('topological order puts every node after the producers of its inputs, whatever the stored order', () => {
    const model = diamond();
    const nodes = model.graph!.node!;
    for (let seed = 0; seed < 5; seed++) {
      const shuffled = [...nodes].sort((a, b) => ((a.output![0].charCodeAt(0) * (seed + 3)) % 7) - ((b.output![0].charCodeAt(0) * (seed + 3)) % 7));
      const g = { ...model.graph!, node: shuffled };
      const order = new GraphIndex(g).topologicalOrder();
      expect(order.length).toBe(nodes.length);
      const seen = new Set(['x', 'w', 'shape']);
      for (const n of order) {
        for (const i of n.input!) expect(seen.has(i)).toBe(true);
        n.output!.forEach((o) => seen.add(o));
      }
    }
  });

  test('a node that reads a tensor only inside its subgraph still waits for that tensor', () => {
    const model = controlFlowModel();
    const graph = model.graph!;
    const ifNode = graph.node!.find((n) => n.opType === 'If')!;
    // 'x' and the constants are read only inside the branches
    expect(nodeDependencies(ifNode)).toEqual(expect.arrayContaining(['cond', 'x', 'c1', 'c2']));
    const idx = new GraphIndex(graph);
    expect(idx.consumersOf('c1').map((c) => [c.node.opType, c.inputIndex])).toEqual([['If', -1]]);
    // a producer of x placed after the If must come before it in topological order
    const g2 = { ...graph, input: graph.input!.map((v) => (v.name === 'x' ? { ...v, name: 'x_raw' } : v)) };
    g2.node = [...graph.node!, makeNode('Identity', ['x_raw'], ['x'])];
    const order = new GraphIndex(g2).topologicalOrder().map((n) => n.opType);
    expect(order.indexOf('Identity')).toBeLessThan(order.indexOf('If'));
  });

  test('a cycle is reported with the nodes involved', () => {
    const g = { name: 'loop', node: [makeNode('Relu', ['b'], ['a'], {}, { name: 'r1' }), makeNode('Relu', ['a'], ['b'], {}, { name: 'r2' })] };
    expect(() => new GraphIndex(g).topologicalOrder()).toThrow(/cycle.*Relu node 'r1'.*Relu node 'r2'/);
  });
});

test('NameScope avoids every name in the model, nested subgraphs included', () => {
  const model = controlFlowModel();
  const names = new NameScope(model);
  expect(names.has('then_out')).toBe(true); // inside the If's then-branch
  expect(names.has('v_out')).toBe(true); // inside the Loop body
  expect(names.fresh('then_out')).toBe('then_out_1');
  expect(names.fresh('then_out')).toBe('then_out_2');
  expect(names.fresh('grad')).toBe('grad');
  expect(names.fresh('grad')).toBe('grad_1');
});

test('opset lookup treats "" and "ai.onnx" as the default domain', () => {
  const model = diamond();
  expect(opsetVersion(model)).toBe(14);
  model.opsetImport = [{ domain: 'ai.onnx', version: 11 }, { domain: 'com.example', version: 2 }];
  expect(opsetVersion(model, '')).toBe(11);
  expect(opsetVersion(model, 'com.example')).toBe(2);
  expect(opsetVersion(model, 'ai.onnx.ml')).toBeUndefined();
});

test('attributes round-trip through the builder with their types, and wrong types are named', () => {
  const node: NodeProto = makeNode('Conv', ['x', 'w'], ['y'], {
    group: 2,
    pads: [1, 1, 0, 0],
    alpha: 0.25,
    beta: Attr.float(1),
    auto_pad: 'NOTSET',
  }, { name: 'conv1' });
  const back = decodeModel(encodeModel(makeModel({ name: 'g', node: [node] }))).graph!.node![0];
  expect(attrInt(back, 'group')).toBe(2);
  expect(attrInts(back, 'pads')).toEqual([1, 1, 0, 0]);
  expect(attrFloat(back, 'alpha')).toBeCloseTo(0.25);
  expect(attrFloat(back, 'beta')).toBe(1);
  expect(attrString(back, 'auto_pad')).toBe('NOTSET');
  expect(attrInt(back, 'missing', 7)).toBe(7);
  expect(() => attrInt(back, 'alpha')).toThrow("Conv node 'conv1': attribute 'alpha' is not an INT");
});

describe('tensors', () => {
  test.each([
    [new Float32Array([1.5, -2, 3e-8]), DataType.FLOAT],
    [new Float64Array([Math.PI, -1e300]), DataType.DOUBLE],
    [new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n]), DataType.INT64],
    [new Int32Array([-5, 7]), DataType.INT32],
    [new Uint8Array([0, 255]), DataType.UINT8],
    [new Int8Array([-128, 127]), DataType.INT8],
  ])('%p survives makeTensor -> encode -> decode -> tensorToArray', (data, code) => {
    const t = makeTensor('t', data, [data.length]);
    expect(t.dataType).toBe(code);
    const model = makeModel({ name: 'g', initializer: [t] });
    const back = decodeModel(encodeModel(model)).graph!.initializer![0];
    expect(tensorToArray(back)).toEqual(data);
  });

  test('typed-field storage (float_data, int64_data, int32_data for int8) reads like raw_data', () => {
    expect(tensorToArray({ dims: [2], dataType: DataType.FLOAT, floatData: [1, 2] })).toEqual(new Float32Array([1, 2]));
    expect(tensorToArray({ dims: [2], dataType: DataType.INT64, int64Data: [3, -4] })).toEqual(new BigInt64Array([3n, -4n]));
    expect(tensorToArray({ dims: [2], dataType: DataType.INT8, int32Data: [-3, 4] })).toEqual(new Int8Array([-3, 4]));
    expect(tensorToArray({ dims: [], dataType: DataType.STRING, stringData: [new TextEncoder().encode('héllo')] })).toEqual(['héllo']);
  });

  test('a raw_data length that does not match the shape is an error naming the tensor', () => {
    expect(() => tensorToArray({ name: 'w', dims: [3], dataType: DataType.FLOAT, rawData: new Uint8Array(8) })).toThrow(
      "tensor 'w' of shape [3] and type float32 needs 12 bytes of raw_data, has 8",
    );
    expect(() => makeTensor('w', new Float32Array(5), [2, 3])).toThrow("tensor 'w': 5 values do not fill shape [2, 3] (6 elements)");
  });
});

test('summarizeModel lists inputs without initializers, outputs and op counts in nested graphs', () => {
  const s = summarizeModel(controlFlowModel());
  expect(s.inputs).toEqual([
    { name: 'x', type: 'float32', shape: [2, 3] },
    { name: 'cond', type: 'bool', shape: [] },
  ]);
  expect(s.opCounts).toEqual({ If: 1, Loop: 1, Add: 2, Mul: 2, Identity: 1 });
  expect(s.parameterCount).toBe(14);
});

test('checkInput names the input and both shapes or types', () => {
  const declared = { name: 'image', type: 'float32', shape: ['batch', 1, 8, 8] };
  expect(() => checkInput(declared, { dtype: 'float32', shape: [2, 1, 8, 8] })).not.toThrow();
  expect(() => checkInput(declared, { dtype: 'float32', shape: [1, 8, 8] })).toThrow(
    "input 'image' expects shape [batch, 1, 8, 8], got [1, 8, 8]",
  );
  expect(() => checkInput(declared, { dtype: 'float64', shape: [1, 1, 8, 8] })).toThrow(
    "input 'image' expects type float32, got float64",
  );
});
