/**
 * Input validation at its boundaries: checkInput against onnxruntime itself
 * (what it refuses, the check refuses first, and what it runs, the check lets
 * through), the messages it gives, JSON tensors (element counts, nesting,
 * with numpy's shapes from test/fixtures/guards/npy_expected.json), and the
 * CLI end to end.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  DataType,
  GraphBuilder,
  InputMismatchError,
  checkInput,
  encodeModel,
  encodeNpy,
  makeModel,
  parseNpy,
  summarizeModel,
  type TensorSummary,
} from '@onnx-explain/core';
import { NpyError, parseJsonTensor, readInputFile } from '@onnx-explain/node';
import { repoRoot, tmpDir } from '../helpers/ort';

type Dim = number | string | null;
const CODE: Record<string, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, int64: DataType.INT64, int32: DataType.INT32,
  int16: DataType.INT16, uint16: DataType.UINT16, int8: DataType.INT8, uint8: DataType.UINT8, bool: DataType.BOOL,
};
const ARRAY: Record<string, (n: number) => ort.Tensor['data']> = {
  float32: (n) => new Float32Array(n), float64: (n) => new Float64Array(n), int64: (n) => new BigInt64Array(n),
  int32: (n) => new Int32Array(n), int16: (n) => new Int16Array(n), uint16: (n) => new Uint16Array(n),
  int8: (n) => new Int8Array(n), uint8: (n) => new Uint8Array(n), bool: (n) => new Uint8Array(n),
};

/** y = Identity(x), x declared with the given type and shape (undefined: no shape at all). */
function identityModel(type: string, shape: Dim[] | undefined) {
  const b = new GraphBuilder('identity');
  const x = b.input('x', CODE[type], shape);
  b.output(b.op('Identity', [x], {}, { output: 'y' }), CODE[type], shape);
  return makeModel(b.build(), { opset: 13 });
}

describe('checkInput agrees with onnxruntime on what can feed an input', () => {
  // declared type, declared shape, given type, given shape
  const cases: [string, Dim[] | undefined, string, number[]][] = [
    ['float32', ['N', 3], 'float32', [2, 3]],
    ['float32', ['N', 3], 'float32', [0, 3]],
    ['float32', ['N', 3], 'float32', [1000, 3]],
    ['float32', ['N', 3], 'float32', [2, 4]],
    ['float32', ['N', 3], 'float32', [2, 3, 1]],
    ['float32', ['N', 3], 'float32', [6]],
    ['float32', ['N', 3], 'float32', []],
    ['float32', [null, null], 'float32', [5, 7]],
    ['float32', [null, 2], 'float32', [5, 3]],
    ['float32', ['N', 'N'], 'float32', [2, 3]],
    ['float32', [-1, 3], 'float32', [5, 3]],
    ['float32', [-1, 3], 'float32', [5, 2]],
    ['float32', [], 'float32', []],
    ['float32', [1], 'float32', []],
    ['float32', [0, 3], 'float32', [0, 3]],
    ['float32', [0, 3], 'float32', [1, 3]],
    ['float32', [2, 3], 'float32', [3, 2]],
    ['float32', undefined, 'float32', [2, 3, 4]],
    ['float32', [2, 3], 'float64', [2, 3]],
    ['float64', [2], 'float32', [2]],
    ['int64', ['N'], 'int32', [3]],
    ['int32', ['N'], 'int64', [3]],
    ['int64', ['batch', 12], 'int64', [3, 12]],
    ['bool', [2], 'uint8', [2]],
    ['uint8', [2], 'bool', [2]],
    ['bool', [2], 'bool', [2]],
    ['int16', [2], 'uint16', [2]],
    ['uint16', [2], 'uint16', [2]],
    ['int8', [2], 'uint8', [2]],
    ['int8', ['N'], 'int8', [4]],
  ];

  test.each(cases)('declared %s %j, given %s %j', async (type, shape, givenType, givenShape) => {
    const model = identityModel(type, shape);
    const declared = summarizeModel(model).inputs[0];
    const session = await ort.InferenceSession.create(encodeModel(model));
    let ortAccepts: boolean;
    try {
      const n = givenShape.reduce((a, b) => a * b, 1);
      await session.run({ x: new ort.Tensor(givenType as 'float32', ARRAY[givenType](n), givenShape) });
      ortAccepts = true;
    } catch {
      ortAccepts = false;
    } finally {
      await session.release();
    }
    let checkAccepts = true;
    try {
      checkInput(declared, { dtype: givenType, shape: givenShape });
    } catch (e) {
      expect(e).toBeInstanceOf(InputMismatchError);
      expect((e as Error).name).toBe('InputMismatchError');
      checkAccepts = false;
    }
    expect(checkAccepts).toBe(ortAccepts);
  });

  test('one deliberate difference: a [1] tensor for a scalar input, which onnxruntime lets through, is refused', async () => {
    // onnxruntime tolerates a one-element tensor where a scalar is declared (a compatibility
    // allowance); checkInput holds to the declared rank, since the gradient graphs are built
    // from the declared shapes and a [1] there would change every shape downstream
    const model = identityModel('float32', []);
    const session = await ort.InferenceSession.create(encodeModel(model));
    try {
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([2]), [1]) });
      expect(out.y.dims).toEqual([1]);
    } finally {
      await session.release();
    }
    expect(() => checkInput(summarizeModel(model).inputs[0], { dtype: 'float32', shape: [1] })).toThrow(
      "input 'x' expects shape [], got [1]",
    );
  });

  test('the cases include both verdicts for shapes and for types', () => {
    // guards the table above against becoming all-accept or all-refuse
    const typeMismatches = cases.filter(([t, , g]) => t !== g).length;
    expect(typeMismatches).toBeGreaterThanOrEqual(8);
    expect(cases.length - typeMismatches).toBeGreaterThanOrEqual(15);
  });
});

describe('checkInput messages name the input and both shapes or both types', () => {
  const x = (shape: Dim[] | undefined, type = 'float32'): TensorSummary => ({ name: 'pixels', type, shape });

  test.each([
    [['N', 3], [2, 3, 1], "input 'pixels' expects shape [N, 3], got [2, 3, 1]"],
    [['N', 3], [6], "input 'pixels' expects shape [N, 3], got [6]"],
    [[1, 8, 8], [1, 8, 9], "input 'pixels' expects shape [1, 8, 8], got [1, 8, 9]"],
    [[null, 8], [2, 7], "input 'pixels' expects shape [?, 8], got [2, 7]"],
    [[-1, 8], [2, 7], "input 'pixels' expects shape [-1, 8], got [2, 7]"],
    [[], [1], "input 'pixels' expects shape [], got [1]"],
    [[1], [], "input 'pixels' expects shape [1], got []"],
  ])('declared %j, given %j', (want, given, message) => {
    expect(() => checkInput(x(want), { dtype: 'float32', shape: given })).toThrow(InputMismatchError);
    expect(() => checkInput(x(want), { dtype: 'float32', shape: given })).toThrow(new Error(message));
  });

  test.each([
    ['float32', 'float64', [1, 30], "input 'pixels' expects type float32, got float64 (shape [1, 30])"],
    ['int64', 'int32', [1, 12], "input 'pixels' expects type int64, got int32 (shape [1, 12])"],
    ['int32', 'int64', [], "input 'pixels' expects type int32, got int64 (shape [])"],
    ['bool', 'uint8', [2], "input 'pixels' expects type bool, got uint8 (shape [2])"],
    ['uint8', 'bool', [2], "input 'pixels' expects type uint8, got bool (shape [2])"],
  ])('declared %s, given %s', (type, given, shape, message) => {
    // the type is checked first, whatever the shape
    expect(() => checkInput(x(['N', 30], type), { dtype: given, shape })).toThrow(new Error(message));
  });

  test('symbolic and unknown dims accept any size, fixed dims only their own', () => {
    for (const n of [0, 1, 7, 4096]) {
      expect(() => checkInput(x(['batch', null, 3]), { dtype: 'float32', shape: [n, n + 1, 3] })).not.toThrow();
      if (n !== 3) expect(() => checkInput(x(['batch', null, 3]), { dtype: 'float32', shape: [1, 1, n] })).toThrow(/expects shape \[batch, \?, 3\]/);
    }
  });
});

describe('JSON tensors: element counts, nesting and values', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/guards/npy_expected.json'), 'utf8')) as {
    json_nested: Record<string, { data: unknown[]; shape?: number[]; ragged?: boolean }>;
  };
  const json = (obj: unknown) => parseJsonTensor(JSON.stringify(obj), "'in.json'");
  const refusal = (obj: unknown) => {
    try {
      json(obj);
    } catch (e) {
      expect(e).toBeInstanceOf(NpyError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  const thirty = Array.from({ length: 30 }, (_, i) => i / 4);

  test.each([
    [29, "'in.json': shape [1, 30] needs 30 values, \"data\" has 29"],
    [31, "'in.json': shape [1, 30] needs 30 values, \"data\" has 31"],
    [0, "'in.json': shape [1, 30] needs 30 values, \"data\" has 0"],
  ])('shape [1, 30] with %i values', (n, message) => {
    expect(refusal({ shape: [1, 30], dtype: 'float32', data: thirty.concat(thirty).slice(0, n) })).toBe(message);
  });

  test('shape [1, 30] with 30 values, flat or nested as [1, 30]', () => {
    for (const data of [thirty, [thirty]]) {
      const t = json({ shape: [1, 30], dtype: 'float32', data });
      expect(t.shape).toEqual([1, 30]);
      expect(Array.from(t.data as Float32Array)).toEqual(thirty);
    }
  });

  test.each(Object.values(manifest.json_nested).map((c) => [JSON.stringify(c.data), c] as const))(
    'nested %s without a shape: numpy.array gives it the same shape, or refuses it as ragged',
    (_, c) => {
      if (c.ragged) {
        expect(refusal({ data: c.data })).toMatch(/^'in\.json': "data" is nested unevenly: data\[\d+\]/);
      } else {
        const t = json({ data: c.data });
        expect(t.shape).toEqual(c.shape);
        expect(Array.from(t.data as Float32Array)).toEqual((c.data as unknown[]).flat(Infinity));
      }
    },
  );

  test('the numpy nesting cases include ragged and empty ones', () => {
    const cases = Object.values(manifest.json_nested);
    expect(cases.filter((c) => c.ragged).length).toBeGreaterThanOrEqual(3);
    expect(cases.some((c) => c.shape?.includes(0))).toBe(true);
  });

  test.each([
    [{ data: [[1, 2], [3]] }, "'in.json': \"data\" is nested unevenly: data[1] has 1 elements, not 2"],
    [{ data: [[1, 2], 3] }, "'in.json': \"data\" is nested unevenly: data[1] is a number where an array of 2 was expected"],
    [{ data: [1, [2]] }, "'in.json': \"data\" is nested unevenly: data[1] is an array where a number was expected"],
    [{ shape: [3, 2], data: [[1, 2, 3], [4, 5, 6]] }, "'in.json': \"data\" is nested as [2, 3] but \"shape\" is [3, 2]"],
    [{ shape: [2, 2], data: [[1, 2, 3], [4, 5, 6]] }, "'in.json': shape [2, 2] needs 4 values, \"data\" has 6"],
  ])('%j', (obj, message) => {
    expect(refusal(obj)).toBe(message);
  });

  test.each([
    [{ shape: [1.5, 2], data: [1, 2, 3] }, '[1.5,2]'],
    [{ shape: [-1, 3], data: [1, 2, 3] }, '[-1,3]'],
    [{ shape: '1,3', data: [1, 2, 3] }, '"1,3"'],
    [{ shape: [[1], 3], data: [1, 2, 3] }, '[[1],3]'],
    [{ shape: null, data: [1, 2, 3] }, 'null'],
  ])('a shape that is not a list of sizes: %j', (obj, shown) => {
    expect(refusal(obj)).toBe(`'in.json': "shape" must be a list of non-negative integers, got ${shown}`);
  });

  test.each([
    ['null', 'null'],
    ['[1, 2, 3]', 'an array'],
    ['42', '42'],
    ['"data"', '"data"'],
  ])('a document that is not an object: %s', (text, shown) => {
    expect(() => parseJsonTensor(text, "'in.json'")).toThrow(
      new NpyError(`'in.json': expected an object {"shape": [...], "dtype": "float32", "data": [...]}, got ${shown}`),
    );
  });

  test('not JSON, no data, a dtype that is not a string or not supported', () => {
    expect(() => parseJsonTensor('{"shape": [1], ', "'in.json'")).toThrow(/^'in\.json' is not valid JSON: /);
    expect(refusal({ shape: [1] })).toBe("'in.json': \"data\" must be an array of numbers");
    expect(refusal({ data: 'abc' })).toBe("'in.json': \"data\" must be an array of numbers");
    expect(refusal({ dtype: 1, data: [1] })).toBe("'in.json': \"dtype\" must be a string such as \"float32\"");
    expect(refusal({ dtype: 'complex64', data: [1] })).toBe(
      "'in.json': dtype 'complex64' is not supported (float32, float64, int64, int32, int16, uint16, int8, uint8, bool)",
    );
    expect(refusal({ data: [1, '2'] })).toBe("'in.json': data[1] is not a number");
    expect(refusal({ data: [[1, 2], [3, null]] })).toBe("'in.json': data[3] is not a number");
  });

  test.each([
    ['int64', 1.5, 'integers -9007199254740991 to 9007199254740991'],
    ['int64', 2 ** 53, 'integers -9007199254740991 to 9007199254740991'],
    ['int32', 2 ** 31, 'integers -2147483648 to 2147483647'],
    ['int16', -32769, 'integers -32768 to 32767'],
    ['uint16', -1, 'integers 0 to 65535'],
    ['int8', 128, 'integers -128 to 127'],
    ['uint8', 256, 'integers 0 to 255'],
    ['uint8', 0.5, 'integers 0 to 255'],
    ['bool', 2, 'integers 0 to 1'],
  ])('%s refuses %p instead of wrapping or truncating it', (dtype, v, range) => {
    expect(refusal({ dtype, data: [0, v] })).toBe(`'in.json': data[1] = ${JSON.stringify(v)} is not a ${dtype} value (${range})`);
  });

  test('integer dtypes keep their limits exactly, bool takes true/false and 0/1', () => {
    const i64 = json({ dtype: 'int64', data: [-(2 ** 53) + 1, 2 ** 53 - 1, 3] });
    expect(Array.from(i64.data as BigInt64Array)).toEqual([-9007199254740991n, 9007199254740991n, 3n]);
    expect(Array.from(json({ dtype: 'int32', data: [-(2 ** 31), 2 ** 31 - 1] }).data as Int32Array)).toEqual([-2147483648, 2147483647]);
    expect(Array.from(json({ dtype: 'uint8', data: [0, 255] }).data as Uint8Array)).toEqual([0, 255]);
    expect(Array.from(json({ dtype: 'int8', data: [-128, 127] }).data as Int8Array)).toEqual([-128, 127]);
    const b = json({ dtype: 'bool', data: [true, false, 1, 0] });
    expect([b.dtype, Array.from(b.data as Uint8Array)]).toEqual(['bool', [1, 0, 1, 0]]);
    const f = json({ data: [0.1] });
    expect([f.dtype, f.shape, (f.data as Float32Array)[0]]).toEqual(['float32', [1], Math.fround(0.1)]);
  });
});

describe('the CLI validates inputs before onnxruntime runs', () => {
  const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/models.json'), 'utf8'));
  const sample = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/samples/patient_0.json'), 'utf8'));
  const torch = manifest.tabular_mlp.samples.patient_0.torch_output as number[];
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const logits = (out: string) => {
    const m = /logits float32 \[1, 2\]: (\S+) (\S+)/.exec(out);
    expect(m).not.toBeNull();
    return [Number(m![1]), Number(m![2])];
  };
  let dir: string;
  beforeAll(() => {
    dir = tmpDir();
  });
  const write = (name: string, content: string | Uint8Array) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content);
    return f;
  };

  test.each([
    ['too few values', { shape: [1, 30], dtype: 'float32', data: sample.data.slice(0, 29) }, 'shape [1, 30] needs 30 values, "data" has 29'],
    ['too many values', { shape: [1, 30], dtype: 'float32', data: [...sample.data, 0] }, 'shape [1, 30] needs 30 values, "data" has 31'],
    ['ragged nesting', { dtype: 'float32', data: [sample.data.slice(0, 15), sample.data.slice(15, 29)] }, '"data" is nested unevenly: data[1] has 14 elements, not 15'],
  ])('JSON with %s: the file and both counts are named, exit 1', (_, obj, message) => {
    const f = write('bad.json', JSON.stringify(obj));
    const r = cli('run', 'models/tabular_mlp.onnx', '--input', `features=${f}`);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`onnx-explain: '${f}': ${message}\n`);
  });

  test.each([
    ['a [1, 29] JSON', { shape: [1, 29], dtype: 'float32', data: sample.data.slice(0, 29) }, "input 'features' expects shape [batch, 30], got [1, 29]"],
    ['a [30] JSON (rank 1)', { shape: [30], dtype: 'float32', data: sample.data }, "input 'features' expects shape [batch, 30], got [30]"],
    ['a float64 JSON', { shape: [1, 30], dtype: 'float64', data: sample.data }, "input 'features' expects type float32, got float64 (shape [1, 30])"],
    ['an int32 JSON', { shape: [1, 30], dtype: 'int32', data: sample.data.map(Math.round) }, "input 'features' expects type float32, got int32 (shape [1, 30])"],
  ])('%s that does not fit the model is refused with both shapes or types', (_, obj, message) => {
    const f = write('misfit.json', JSON.stringify(obj));
    const r = cli('run', 'models/tabular_mlp.onnx', '--input', f);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`onnx-explain: ${message}\n`);
  });

  test('int32 token ids for an int64 model are refused by type, from .npy', () => {
    const ids = parseNpy(new Uint8Array(fs.readFileSync(path.join(repoRoot, 'models/samples/review_negative.npy'))));
    const as32 = Int32Array.from(ids.data as BigInt64Array, Number);
    const f = write('ids32.npy', encodeNpy({ data: as32, shape: ids.shape, dtype: 'int32' }));
    const r = cli('run', 'models/text_classifier.onnx', '--input', f);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`onnx-explain: input 'token_ids' expects type int64, got int32 (shape [${ids.shape.join(', ')}])\n`);
  });

  test('the sample nested as [[30 values]] with no shape runs and gives PyTorch\'s logits', () => {
    const f = write('nested.json', JSON.stringify({ dtype: 'float32', data: [sample.data] }));
    const r = cli('run', 'models/tabular_mlp.onnx', '--input', f);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const [a, b] = logits(r.out);
    expect(a).toBeCloseTo(torch[0], 3);
    expect(b).toBeCloseTo(torch[1], 3);
  });

  test('the sample as a big-endian .npy (numpy\'s \'>f4\') gives PyTorch\'s logits', async () => {
    const le = new Uint8Array(fs.readFileSync(path.join(repoRoot, 'models/samples/patient_0.npy')));
    const start = 10 + new DataView(le.buffer, le.byteOffset).getUint16(8, true);
    const header = Buffer.from(le.subarray(10, start)).toString('latin1');
    expect(header).toContain("'descr': '<f4'");
    const be = le.slice();
    be.set(Buffer.from(header.replace("'<f4'", "'>f4'"), 'latin1'), 10);
    for (let i = start; i < be.length; i += 4) be.subarray(i, i + 4).reverse();
    const f = write('be.npy', be);
    expect(Array.from((await readInputFile(f)).data as Float32Array)).toEqual(Array.from(parseNpy(le).data as Float32Array));
    const r = cli('run', 'models/tabular_mlp.onnx', '--input', f);
    expect(r.code).toBe(0);
    const [a, b] = logits(r.out);
    expect(a).toBeCloseTo(torch[0], 3);
    expect(b).toBeCloseTo(torch[1], 3);
  });

  test('a model that declares a -1 dim takes any size there, as onnxruntime does', () => {
    const model = write('minus1.onnx', encodeModel(identityModel('float32', [-1, 3])));
    const ok = write('x53.npy', encodeNpy({ data: new Float32Array(15).fill(0.25), shape: [5, 3], dtype: 'float32' }));
    const r = cli('run', model, '--input', ok);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^y float32 \[5, 3\]: 0\.2500 /);
    const bad = write('x54.npy', encodeNpy({ data: new Float32Array(20), shape: [5, 4], dtype: 'float32' }));
    const r2 = cli('run', model, '--input', bad);
    expect(r2.code).toBe(1);
    expect(r2.err).toBe("onnx-explain: input 'x' expects shape [-1, 3], got [5, 4]\n");
  });
});
