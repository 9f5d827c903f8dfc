/**
 * The .npy reader and writer at their boundaries, with numpy as the oracle:
 * test/fixtures/guards/*.npy were written by numpy (models/make_npy_fixtures.py)
 * and npy_expected.json holds what numpy says is in them (dtype, shape, flat
 * C-order values). Malformed files are built byte by byte here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNpy, encodeNpy, NpyError, type NdArray } from '@onnx-explain/core';
import { readInputFile } from '@onnx-explain/node';
import { repoRoot, tmpDir } from '../helpers/ort';

const FIX = path.join(repoRoot, 'test/fixtures/guards');

interface Expected {
  descr: string;
  dtype: string;
  shape: number[];
  fortran_order: boolean;
  version: [number, number];
  values: (number | string | boolean)[];
}
const manifest = JSON.parse(fs.readFileSync(path.join(FIX, 'npy_expected.json'), 'utf8')) as {
  arrays: Record<string, Expected>;
  unsupported: Record<string, { descr: string }>;
  encoded: Record<string, string>;
  descr_variants: Record<string, { data_hex: string; dtype: string; values: unknown[] }>;
};
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(FIX, name)));

const CTOR: Record<string, unknown> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array,
  uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

/** The reader's values in the JSON's terms: int64 as decimal strings, bool as true/false, floats as numbers. */
function values(a: NdArray): unknown[] {
  if (a.dtype === 'int64') return Array.from(a.data as BigInt64Array, String);
  if (a.dtype === 'bool') return Array.from(a.data as Uint8Array, (v) => (v === 1 ? true : v === 0 ? false : v));
  return Array.from(a.data as Float32Array, Number);
}
/** The JSON's values as the reader must produce them ('NaN', 'Infinity' and '-Infinity' are strings there). */
function expectedValues(e: Expected): unknown[] {
  if (e.dtype === 'int64' || e.dtype === 'bool') return e.values;
  return e.values.map((v) => Number(v));
}
/** An NdArray holding the JSON's values, for the writer. */
function ndarray(e: Pick<Expected, 'dtype' | 'shape' | 'values'>): NdArray {
  const vals = e.values.map((v) => (e.dtype === 'int64' ? BigInt(v as string) : e.dtype === 'bool' ? (v ? 1 : 0) : Number(v)));
  const C = CTOR[e.dtype] as { from(v: unknown[]): NdArray['data'] };
  return { data: C.from(vals), shape: e.shape, dtype: e.dtype };
}
/** Where the data starts in a .npy file (after magic, version, header length and header). */
const dataStart = (b: Uint8Array) => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return b[6] === 1 ? 10 + v.getUint16(8, true) : 12 + v.getUint32(8, true);
};

/** A .npy file byte by byte: magic, version, header length (or a lie about it), header, data. */
function npy(header: string, data: ArrayLike<number> = [], opts: { major?: number; minor?: number; headerLen?: number } = {}): Uint8Array {
  const major = opts.major ?? 1;
  const lenBytes = major === 1 ? 2 : 4;
  const h = Buffer.from(header, 'latin1');
  const out = new Uint8Array(8 + lenBytes + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, opts.minor ?? 0]);
  const v = new DataView(out.buffer);
  if (lenBytes === 2) v.setUint16(8, opts.headerLen ?? h.length, true);
  else v.setUint32(8, opts.headerLen ?? h.length, true);
  out.set(h, 8 + lenBytes);
  out.set(data, 8 + lenBytes + h.length);
  return out;
}
const f4Header = (shape: string, extra = '') => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, ${extra}}`.padEnd(117) + '\n';
const f32bytes = (...xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

function refusal(buf: Uint8Array): NpyError {
  try {
    parseNpy(buf, "'x.npy'");
  } catch (e) {
    return e as NpyError;
  }
  throw new Error('parseNpy accepted the file');
}

describe('what numpy wrote is read as numpy reads it', () => {
  const names = Object.keys(manifest.arrays).sort();

  test('the fixtures cover every README dtype in both byte orders, versions 1-3, Fortran order, 0-d and empty', () => {
    const readme = ['float32', 'float64', 'int64', 'int32', 'int16', 'uint16', 'int8', 'uint8', 'bool'];
    const le = names.filter((n) => n.startsWith('le_')).map((n) => manifest.arrays[n].dtype).sort();
    expect(le).toEqual([...readme].sort());
    const be = names.filter((n) => manifest.arrays[n].descr.startsWith('>')).map((n) => manifest.arrays[n].descr);
    expect(new Set(be)).toEqual(new Set(['>f4', '>f8', '>i8', '>i4', '>i2', '>u2']));
    expect(new Set(names.map((n) => manifest.arrays[n].version.join('.')))).toEqual(new Set(['1.0', '2.0', '3.0']));
    expect(names.filter((n) => manifest.arrays[n].fortran_order).length).toBeGreaterThanOrEqual(4);
    expect(names.some((n) => manifest.arrays[n].shape.length === 0)).toBe(true);
    expect(names.some((n) => manifest.arrays[n].shape.includes(0))).toBe(true);
  });

  test.each(names)('%s', (name) => {
    const want = manifest.arrays[name];
    const got = parseNpy(fixture(name), name);
    expect(got.dtype).toBe(want.dtype);
    expect(got.shape).toEqual(want.shape);
    expect(got.data).toBeInstanceOf(CTOR[want.dtype] as new () => unknown);
    expect(got.data.length).toBe(want.shape.reduce((a, b) => a * b, 1));
    // toEqual tells -0 from 0 and takes NaN as NaN
    expect(values(got)).toEqual(expectedValues(want));
  });

  test('a Fortran-ordered file really is stored column-major (so the test above checks the reordering)', () => {
    const want = manifest.arrays['fortran_int16_2x3x4.npy'];
    const f = fixture('fortran_int16_2x3x4.npy');
    const raw = Array.from(new Int16Array(f.slice(dataStart(f)).buffer));
    expect(raw).not.toEqual(want.values);
    expect([...raw].sort((a, b) => a - b)).toEqual([...(want.values as number[])].sort((a, b) => a - b));
    // element [i, j, k] of a (2, 3, 4) Fortran array sits at i + 2 j + 6 k
    const c = parseNpy(f).data as Int16Array;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) {
      expect(c[i * 12 + j * 4 + k]).toBe(raw[i + 2 * j + 6 * k]);
    }
  });

  test('a big-endian file holds its bytes reversed against the little-endian one', () => {
    const le = fixture('le_int32.npy');
    const be = fixture('be_int32.npy');
    const leData = le.slice(dataStart(le));
    const beData = be.slice(dataStart(be));
    expect(Array.from(beData)).not.toEqual(Array.from(leData));
    expect(Array.from(beData.slice(0, 4)).reverse()).toEqual(Array.from(leData.slice(0, 4)));
  });

  test.each(names)('readInputFile reads %s the same way', async (name) => {
    const got = await readInputFile(path.join(FIX, name));
    expect(got.shape).toEqual(manifest.arrays[name].shape);
    expect(values(got)).toEqual(expectedValues(manifest.arrays[name]));
  });

  test.each(names.filter((n) => manifest.arrays[n].shape.reduce((a, b) => a * b, 1) > 0))('%s cut short by one byte is refused', (name) => {
    const f = fixture(name);
    const e = refusal(f.subarray(0, f.length - 1));
    expect(e).toBeInstanceOf(NpyError);
    const want = manifest.arrays[name];
    const bytes = f.length - dataStart(f);
    expect(e.message).toBe(`'x.npy': shape (${want.shape.join(', ')}) needs ${bytes} bytes of data, the file has ${bytes - 1}`);
  });
});

describe('dtypes numpy writes that the README does not list are refused by name', () => {
  test.each(Object.entries(manifest.unsupported).filter(([n]) => !n.includes('structured')))('%s', (name, { descr }) => {
    const e = refusal(fixture(name));
    expect(e).toBeInstanceOf(NpyError);
    expect(e.message).toBe(
      `'x.npy': dtype '${descr}' is not supported (float32, float64, int64, int32, int16, uint16, int8, uint8, bool)`,
    );
  });

  test('a structured dtype', () => {
    const e = refusal(fixture('unsupported_structured.npy'));
    expect(e.message).toMatch(/^'x\.npy': structured \(record\) dtypes are not supported, only plain arrays of float32, .*'\{'descr': \[\('a', '<f4'\), \('b', '<i2'\)\]/);
  });

  test.each([['<f16'], ['<M8[s]'], ['>c16'], ['<u8'], [''], ['x<f4'], ['<f4x'], ['f']])('descr %j', (descr) => {
    const e = refusal(npy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }`, f32bytes(1)));
    expect(e.message).toBe(`'x.npy': dtype '${descr}' is not supported (float32, float64, int64, int32, int16, uint16, int8, uint8, bool)`);
  });

  test.each(Object.keys(manifest.descr_variants).sort())("the byte-order mark in '%s' is read as numpy.load reads it", (descr) => {
    const want = manifest.descr_variants[descr];
    const a = parseNpy(npy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`, Buffer.from(want.data_hex, 'hex')));
    expect(a.dtype).toBe(want.dtype);
    expect(values(a)).toEqual(want.values);
  });
});

describe('malformed files get an error that names the problem', () => {
  test.each([
    ['an empty file', new Uint8Array(0)],
    ['plain text', new Uint8Array(Buffer.from('not numpy at all'))],
    ['a wrong first byte', (() => { const b = npy(f4Header('(1,)'), f32bytes(1)); b[0] = 0x92; return b; })()],
    ['a lower-case magic', (() => { const b = npy(f4Header('(1,)'), f32bytes(1)); b[1] = 0x6e; return b; })()],
    ['five bytes of the magic', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50])],
    ['the magic alone', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])],
    ['the magic and a major version', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1])],
  ])('%s: bad magic', (_, buf) => {
    expect(refusal(buf).message).toBe("'x.npy' is not a .npy file (bad magic)");
  });

  test('without a source name the error says "input"', () => {
    expect(() => parseNpy(new Uint8Array(0))).toThrow(/^input is not a \.npy file \(bad magic\)$/);
  });

  test.each([[0, 0], [4, 0], [1, 1], [2, 5], [255, 0]])('format version %i.%i', (major, minor) => {
    const buf = npy(f4Header('(1,)'), f32bytes(1), { major: major === 0 || major > 3 ? 2 : major, minor });
    buf[6] = major;
    expect(refusal(buf).message).toBe(`'x.npy': .npy format version ${major}.${minor} is not supported (1.0, 2.0 or 3.0)`);
  });

  test.each([[1, 8], [1, 9], [2, 8], [2, 11], [3, 10]])('version %i, cut after %i bytes, inside the header length', (major, len) => {
    const buf = npy(f4Header('(1,)'), f32bytes(1), { major }).subarray(0, len);
    expect(refusal(buf).message).toBe(`'x.npy': the .npy file is truncated: it ends inside its header length (${len} bytes)`);
  });

  test.each([
    ['version 1, header length past the end', 1, 500],
    ['version 2, header length past the end', 2, 1000],
    ['version 2, a 4 GiB header length', 2, 0xffffffff],
    ['version 3, header length one past the end', 3, undefined],
  ])('%s', (_, major, lie) => {
    // a complete header (the dict alone would parse) whose length field overshoots the file
    const header = f4Header('()');
    const full = npy(header, [], { major });
    const headerLen = lie ?? header.length + 1;
    const buf = npy(header, [], { major, headerLen });
    expect(refusal(buf).message).toBe(
      `'x.npy': the .npy header is ${headerLen} bytes long but the file ends after ${full.length - (major === 1 ? 10 : 12)} of them (truncated file?)`,
    );
  });

  test.each([
    ["{'fortran_order': False, 'shape': (2,), }", "'descr'"],
    ["{'descr': '<f4', 'shape': (2,), }", "'fortran_order'"],
    ["{'descr': '<f4', 'fortran_order': False, }", "'shape'"],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", "'fortran_order'"],
    ["{'descr': '<f4', 'fortran_order': Truth, 'shape': (2,), }", "'fortran_order'"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "'shape'"],
    ["{'descr': <f4, 'fortran_order': False, 'shape': (2,), }", "'descr'"],
    ['{garbage}', "'descr', 'fortran_order', 'shape'"],
    ['{}', "'descr', 'fortran_order', 'shape'"],
  ])('header %s: names the missing key', (header, missing) => {
    expect(refusal(npy(header.padEnd(117) + '\n', f32bytes(1, 2))).message).toBe(
      `'x.npy': the .npy header has no readable ${missing}: '${header}'`,
    );
  });

  test.each([['garbage'], [''], ["'descr': '<f4', 'fortran_order': False, 'shape': (2,)"], ['\u00ff\u00fe']])('header %j is not a dict', (header) => {
    expect(refusal(npy(header.padEnd(117) + '\n', f32bytes(1, 2))).message).toBe(
      `'x.npy': the .npy header is not a Python dict: '${header}'`,
    );
  });

  test('a header of length 0 (the file ends right after its length field) is not a dict', () => {
    const buf = npy('', [], { major: 1 });
    expect(buf.length).toBe(10);
    expect(refusal(buf).message).toBe("'x.npy': the .npy header is not a Python dict: ''");
  });

  test.each([
    ["x{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }x"],
  ])('header %j: text outside the braces', (header) => {
    expect(refusal(npy(header.padEnd(117) + '\n', f32bytes(1))).message).toBe(`'x.npy': the .npy header is not a Python dict: '${header}'`);
  });

  test('version 3 headers are utf-8, versions 1 and 2 latin-1 (as numpy reads them)', () => {
    const header = "{'note': '\u00e9'}";
    const bytes = Buffer.from(header, 'utf8');
    for (const [major, shown] of [[3, header], [2, Buffer.from(bytes).toString('latin1')]] as const) {
      const buf = new Uint8Array(12 + bytes.length);
      buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
      new DataView(buf.buffer).setUint32(8, bytes.length, true);
      buf.set(bytes, 12);
      expect(refusal(buf).message).toBe(`'x.npy': the .npy header has no readable 'descr', 'fortran_order', 'shape': '${shown}'`);
    }
  });

  test.each([['(2, a)'], ['(-1,)'], ['(2.5,)'], ['(1e3,)'], ['(2,,3)'], ['(0x2,)'], ['(,)']])('shape %s is refused, not read as garbage', (shape) => {
    expect(refusal(npy(f4Header(shape), f32bytes(1, 2, 3, 4))).message).toBe(
      `'x.npy': the .npy shape ${shape} is not a tuple of non-negative integers`,
    );
  });

  test('a shape too large for memory is refused as short data, not attempted', () => {
    expect(refusal(npy(f4Header('(100000000000, 100000000000)'), f32bytes(1))).message).toBe(
      "'x.npy': shape (100000000000, 100000000000) needs 4e+22 bytes of data, the file has 4",
    );
  });

  test.each([
    ['(2, 3)', 5, '(2, 3) needs 24 bytes of data, the file has 20'],
    ['(1,)', 0, '(1) needs 4 bytes of data, the file has 0'],
    ['()', 0, '() needs 4 bytes of data, the file has 0'],
  ])('shape %s with %i values: short data', (shape, n, msg) => {
    expect(refusal(npy(f4Header(shape), f32bytes(...Array(n).fill(1.5)))).message).toBe(`'x.npy': shape ${msg}`);
  });

  test('everything a refusal can raise is an NpyError, never a RangeError or TypeError', () => {
    // every prefix of a valid v1 and v2 file, and every single-byte corruption of the header area
    for (const major of [1, 2]) {
      const good = npy(f4Header('(2,)'), f32bytes(1, 2), { major });
      for (let len = 0; len < good.length; len++) expect(refusal(good.subarray(0, len))).toBeInstanceOf(NpyError);
      let refused = 0;
      for (let i = 0; i < 12; i++) {
        for (const v of [0, 0x7f, 0xff]) {
          const bad = good.slice();
          if (bad[i] === v) continue;
          bad[i] = v;
          try {
            parseNpy(bad);
          } catch (e) {
            expect(e).toBeInstanceOf(NpyError);
            refused++;
          }
        }
      }
      expect(refused).toBeGreaterThan(20);
    }
  });
});

describe('what numpy also accepts', () => {
  test('trailing bytes after the data are ignored, as numpy.load ignores them', () => {
    const f = fixture('le_int16.npy');
    const longer = new Uint8Array(f.length + 3);
    longer.set(f);
    longer.set([9, 9, 9], f.length);
    expect(values(parseNpy(longer))).toEqual(manifest.arrays['le_int16.npy'].values);
  });

  test('Python 2 long shapes (2L, 3L) and no padding', () => {
    const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }", f32bytes(0.5, -4)));
    expect(a.shape).toEqual([2, 1]);
    expect(Array.from(a.data as Float32Array)).toEqual([0.5, -4]);
  });

  test.each([
    ["{'descr':'<f4','fortran_order':False,'shape':(2,)}"],
    ["{'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , ) }"],
    ["{'descr':  '<f4', 'fortran_order':\tFalse, 'shape':\n(2,)}"],
  ])('header %j: any spacing Python allows', (header) => {
    const a = parseNpy(npy(header, f32bytes(0.5, -4)));
    expect([a.dtype, a.shape, Array.from(a.data as Float32Array)]).toEqual(['float32', [2], [0.5, -4]]);
  });

  test.each([["{'descr':[('a', '<f4')], 'fortran_order': False, 'shape': (1,)}"], ["{'descr' :  [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}"]])(
    'a structured descr %j is named as such, whatever the spacing',
    (header) => {
      expect(refusal(npy(header, f32bytes(1))).message).toMatch(/^'x\.npy': structured \(record\) dtypes are not supported/);
    },
  );

  test('an empty tuple with spaces inside is a 0-d array', () => {
    const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': ( ), }", f32bytes(7)));
    expect([a.shape, Array.from(a.data as Float32Array)]).toEqual([[], [7]]);
  });

  test('keys in any order, and a 1-d Fortran array (the same bytes in either order)', () => {
    const a = parseNpy(npy("{'shape': (3,), 'fortran_order': True, 'descr': '<i2'}\n", new Uint8Array(Int16Array.from([1, -2, 3]).buffer)));
    expect([a.dtype, a.shape, Array.from(a.data as Int16Array)]).toEqual(['int16', [3], [1, -2, 3]]);
  });

  test('a Fortran (2, 3) built by hand: stored 0 3 1 4 2 5, read 0 1 2 3 4 5', () => {
    const a = parseNpy(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(Float64Array.from([0, 3, 1, 4, 2, 5]).buffer)));
    expect(Array.from(a.data as Float64Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('a Fortran empty array and a Fortran 0-d array', () => {
    expect(parseNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 0), }")).data).toHaveLength(0);
    expect(Array.from(parseNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (), }", f32bytes(2.5))).data as Float32Array)).toEqual([2.5]);
  });

  test('the result never aliases the input buffer and is aligned for its type', () => {
    // data at an odd offset inside a larger buffer, as a pooled Node Buffer gives it
    const f = fixture('le_float64.npy');
    const pool = new Uint8Array(f.length + 7);
    pool.set(f, 3);
    const a = parseNpy(pool.subarray(3, 3 + f.length));
    expect(a.data.byteOffset % 8).toBe(0);
    expect(a.data.buffer).not.toBe(pool.buffer);
    pool.fill(0);
    expect(values(a)).toEqual(expectedValues(manifest.arrays['le_float64.npy']));
  });
});

describe('encodeNpy writes what numpy reads', () => {
  const encodedNames = Object.keys(manifest.encoded).sort();

  test('the numpy-checked encodings cover every README dtype, a 0-d and an empty array', () => {
    const dtypes = new Set(encodedNames.map((n) => manifest.arrays[n].dtype));
    expect(dtypes.size).toBe(9);
    expect(encodedNames.some((n) => manifest.arrays[n].shape.length === 0)).toBe(true);
    expect(encodedNames.some((n) => manifest.arrays[n].shape.includes(0))).toBe(true);
  });

  test.each(encodedNames)('%s: the bytes numpy.load accepted when the fixtures were made', (name) => {
    const bytes = encodeNpy(ndarray(manifest.arrays[name]));
    expect(Buffer.from(bytes).toString('base64')).toBe(manifest.encoded[name]);
  });

  test.each(Object.keys(manifest.arrays).filter((n) => n.startsWith('le_')).sort())('%s: the same data bytes as numpy.save, the data 64-byte aligned', (name) => {
    const numpyFile = fixture(name);
    const ours = encodeNpy(ndarray(manifest.arrays[name]));
    expect(Array.from(ours.subarray(dataStart(ours)))).toEqual(Array.from(numpyFile.subarray(dataStart(numpyFile))));
    expect(dataStart(ours) % 64).toBe(0);
    expect(ours[dataStart(ours) - 1]).toBe(0x0a); // the header ends with '\n'
  });

  test.each(Object.keys(manifest.arrays).sort())('%s: parse, encode, parse gives the same values in C order', (name) => {
    const a = parseNpy(fixture(name));
    const again = parseNpy(encodeNpy(a));
    expect([again.dtype, again.shape]).toEqual([a.dtype, a.shape]);
    expect(values(again)).toEqual(values(a));
    expect(new TextDecoder().decode(encodeNpy(a).subarray(10, 60))).toContain("'fortran_order': False");
  });

  test('headers of every length keep the data 64-byte aligned', () => {
    for (let rank = 0; rank < 64; rank++) {
      const shape = new Array<number>(rank).fill(1);
      // each dim adds '1, ' (3 characters) to the header: 64 ranks meet every length mod 64
      const b = encodeNpy({ data: new Float32Array(1), shape, dtype: 'float32' });
      expect(dataStart(b) % 64).toBe(0);
      expect(parseNpy(b).shape).toEqual(shape);
    }
  });

  test.each([
    [{ data: new Float64Array(6), shape: [2, 3], dtype: 'float32' }, /dtype float32 and shape \(2, 3\): it needs 6 elements of 4 bytes, the data has 6 of 8/],
    [{ data: new Float32Array(5), shape: [2, 3], dtype: 'float32' }, /needs 6 elements of 4 bytes, the data has 5 of 4/],
    [{ data: new Float32Array(1), shape: [], dtype: 'complex64' }, /cannot write dtype complex64 to \.npy/],
  ])('refuses data that does not fit its dtype or shape', (arr, msg) => {
    expect(() => encodeNpy(arr as NdArray)).toThrow(NpyError);
    expect(() => encodeNpy(arr as NdArray)).toThrow(msg);
  });
});

describe('readInputFile', () => {
  test('picks the reader by extension, in any case', async () => {
    const dir = tmpDir();
    const upper = path.join(dir, 'X.NPY');
    fs.copyFileSync(path.join(FIX, 'le_uint8.npy'), upper);
    expect(values(await readInputFile(upper))).toEqual(manifest.arrays['le_uint8.npy'].values);
    const txt = path.join(dir, 'x.txt');
    fs.copyFileSync(path.join(FIX, 'le_uint8.npy'), txt);
    await expect(readInputFile(txt)).rejects.toThrow(`input file '${txt}': unsupported extension '.txt' (use .npy or .json)`);
  });

  test('a .npy that is really JSON, a missing file and a directory are named', async () => {
    const dir = tmpDir();
    const fake = path.join(dir, 'fake.npy');
    fs.writeFileSync(fake, '{"shape": [1], "data": [1]}');
    await expect(readInputFile(fake)).rejects.toThrow(`'${fake}' is not a .npy file (bad magic)`);
    await expect(readInputFile(path.join(dir, 'nope.npy'))).rejects.toThrow(`input file '${path.join(dir, 'nope.npy')}' does not exist`);
    fs.mkdirSync(path.join(dir, 'd.npy'));
    await expect(readInputFile(path.join(dir, 'd.npy'))).rejects.toThrow(`input file '${path.join(dir, 'd.npy')}' is a directory, not a file`);
  });
});
