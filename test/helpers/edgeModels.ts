/**
 * Hand-built models for the edge cases of model IO: nested control flow,
 * IR 10 local functions with metadata, sparse initializers, external data.
 * Built with core's GraphBuilder, op by op.
 */
import {
  Attr,
  AttributeType,
  DataType,
  GraphBuilder,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  type FunctionProto,
  type ModelProto,
} from '@onnx-explain/core';

const f32 = (n: number, seed = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));

/** If (then: Add, else: Mul) feeding a Loop whose body reads an outer-scope tensor. */
export function controlFlowModel(): ModelProto {
  const b = new GraphBuilder('control_flow');
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const cond = b.input('cond', DataType.BOOL, []);
  const c1 = b.constant(f32(6, 1), [2, 3], { name: 'c1' });
  const c2 = b.constant(f32(6, 2), [2, 3], { name: 'c2' });

  const thenB = new GraphBuilder('then_branch', b.names);
  thenB.output(thenB.op('Add', [x, c1], {}, { output: 'then_out' }), DataType.FLOAT, [2, 3]);
  const elseB = new GraphBuilder('else_branch', b.names);
  elseB.output(elseB.op('Mul', [x, c2], {}, { output: 'else_out' }), DataType.FLOAT, [2, 3]);
  const branched = b.op('If', [cond], { then_branch: thenB.build(), else_branch: elseB.build() });

  // Loop body: (iter, cond_in, v) -> (cond_out, v + x * 0.5); x comes from the outer scope.
  const body = new GraphBuilder('loop_body', b.names);
  const iter = body.input('iter', DataType.INT64, []);
  const condIn = body.input('cond_in', DataType.BOOL, []);
  const v = body.input('v_in', DataType.FLOAT, [2, 3]);
  void iter;
  const half = body.constant(new Float32Array([0.5]), [], { name: 'half' });
  const condOut = body.op('Identity', [condIn], {}, { output: 'cond_out' });
  const vOut = body.op('Add', [v, body.op('Mul', [x, half])], {}, { output: 'v_out' });
  body.output(condOut, DataType.BOOL, []);
  body.output(vOut, DataType.FLOAT, [2, 3]);
  const trip = b.constant(new BigInt64Array([3n]), [], { name: 'trip' });
  const yes = b.constant(new Uint8Array([1]), [], { name: 'yes', dataType: DataType.BOOL });
  const looped = b.op('Loop', [trip, yes, branched], { body: body.build() }, { output: 'y' });
  b.output(looped, DataType.FLOAT, [2, 3]);
  return makeModel(b.build(), { opset: 13 });
}

/**
 * IR 10: a local function with a default attribute, value_info and metadata,
 * called from the main graph; metadata on the graph, node and value info; a
 * sparse initializer.
 */
export function functionModel(): ModelProto {
  const fn: FunctionProto = {
    name: 'ScaledTanh',
    domain: 'local.fn',
    input: ['fx'],
    output: ['fy'],
    attributeProto: [{ name: 'alpha', type: AttributeType.FLOAT, f: 1.0 }],
    node: [
      makeNode('Tanh', ['fx'], ['ft']),
      makeNode('Constant', [], ['fa'], { value_float: Attr.ref('alpha', AttributeType.FLOAT) }),
      makeNode('Mul', ['ft', 'fa'], ['fy']),
    ],
    opsetImport: [{ domain: '', version: 18 }],
    valueInfo: [makeValueInfo('ft', DataType.FLOAT)],
    metadataProps: [{ key: 'origin', value: 'edge-case test' }],
    docString: 'alpha * tanh(x)',
  };
  const b = new GraphBuilder('with_function');
  const x = b.input('x', DataType.FLOAT, ['N', 3]);
  const scaled = b.op('ScaledTanh', [x], { alpha: Attr.float(2.5) }, { domain: 'local.fn' });
  // A sparse [2,3] constant with two non-zeros, added to the result.
  const graph = b.build();
  graph.sparseInitializer = [
    {
      values: makeTensor('sparse_bias', new Float32Array([1.5, -2]), [2]),
      indices: makeTensor('sparse_bias_indices', new BigInt64Array([1n, 5n]), [2]),
      dims: [2, 3],
    },
  ];
  const y = 'y';
  graph.node!.push(makeNode('Add', [scaled, 'sparse_bias'], [y], {}, { name: 'add_sparse' }));
  graph.node![0].metadataProps = [{ key: 'note', value: 'calls a local function' }];
  graph.output = [makeValueInfo(y, DataType.FLOAT, [2, 3])];
  graph.output[0].metadataProps = [{ key: 'unit', value: 'none' }];
  graph.metadataProps = [{ key: 'graph_key', value: 'graph_value' }];
  const model = makeModel(graph, {
    opset: 18,
    irVersion: 10,
    extraOpsets: [{ domain: 'local.fn', version: 1 }],
    functions: [fn],
  });
  model.metadataProps = [{ key: 'author', value: 'onnx-explain tests' }];
  model.docString = 'IR 10 edge case';
  return model;
}

/** y = x @ W + b with W [3,4] and b [4]; the caller decides where W and b live. */
export function linearModel(): ModelProto {
  const b = new GraphBuilder('linear');
  const x = b.input('x', DataType.FLOAT, ['N', 3]);
  const w = b.constant(f32(12, 3), [3, 4], { name: 'W' });
  const bias = b.constant(f32(4, 4), [4], { name: 'b' });
  b.output(b.op('Add', [b.op('MatMul', [x, w]), bias], {}, { output: 'y' }), DataType.FLOAT, ['N', 4]);
  return makeModel(b.build(), { opset: 13 });
}

/**
 * Moves the initializers of a model into one side file, the way onnx's
 * save_model(..., save_as_external_data=True) does, and returns that file.
 */
export function externalize(model: ModelProto, location: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    const data = t.rawData!;
    // onnx aligns external tensors; mimic it so offsets are not all trivial
    const pad = (64 - (offset % 64)) % 64;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.length) },
    ];
    t.dataLocation = 1;
    delete t.rawData;
    chunks.push(data);
    offset += data.length;
  }
  const file = new Uint8Array(offset);
  let p = 0;
  for (const c of chunks) {
    file.set(c, p);
    p += c.length;
  }
  return file;
}
