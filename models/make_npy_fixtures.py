#!/usr/bin/python3
"""
Writes the .npy fixtures the input-guard tests (test/guards/) read, with
numpy as the oracle: each array is written by numpy.save or
numpy.lib.format.write_array, and its expected dtype, shape and flat C-order
values go to test/fixtures/guards/npy_expected.json.

It also checks the other direction: every supported dtype (and a 0-d and an
empty array) is encoded with this repo's encodeNpy (packages/core/dist, so run
`npx tsc -b` first), loaded back with numpy.load and compared value by value;
the bytes numpy accepted are stored in the JSON ("encoded"), and the tests
check that encodeNpy still writes exactly those bytes.

Run from the repository root with Debian's numpy (CI never runs this):

    /usr/bin/python3 models/make_npy_fixtures.py
"""
import base64
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
from numpy.lib import format as npformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'guards')

# the dtypes the README lists, with asymmetric values at the type's limits so
# that a wrong byte order, element size or axis order cannot go unnoticed
VALUES = {
    'float32': [-0.0, 1.5, -2.5e-3, 3.4028234663852886e38, -math.inf, math.nan],
    'float64': [-0.0, 0.1, -1e-300, 1.7976931348623157e308, math.inf, math.nan],
    'int64': [-2**63, 2**63 - 1, -1, 0, 1, 2**53 + 1],
    'int32': [-2**31, 2**31 - 1, -1, 0, 1, 123456789],
    'int16': [-32768, 32767, -1, 0, 1, 256],
    'uint16': [0, 65535, 1, 256, 32768, 4660],
    'int8': [-128, 127, -1, 0, 1, 16],
    'uint8': [0, 255, 1, 128, 16, 7],
    'bool': [True, False, True, True, False, False],
}


def json_value(v, dtype):
    if dtype == 'bool':
        return bool(v)
    if dtype == 'int64':
        return str(int(v))  # beyond 2**53: a string, compared with BigInt
    if dtype.startswith('float'):
        f = float(v)
        if math.isnan(f):
            return 'NaN'
        if math.isinf(f):
            return 'Infinity' if f > 0 else '-Infinity'
        return f  # exact: a float32 widened to a double, written with repr
    return int(v)


def describe(arr, version, fortran):
    dtype = arr.dtype.name  # byte order does not change the name
    return {
        'descr': npformat.dtype_to_descr(arr.dtype),
        'dtype': dtype,
        'shape': list(arr.shape),
        'fortran_order': fortran,
        'version': list(version),
        'values': [json_value(v, dtype) for v in np.ascontiguousarray(arr).ravel(order='C')],
    }


def write(name, arr, version=(1, 0)):
    """Writes arr with numpy and returns what a reader must get back."""
    buf = io.BytesIO()
    npformat.write_array(buf, arr, version=version, allow_pickle=False)
    data = buf.getvalue()
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    # what numpy itself reads back, and whether it wrote a Fortran header
    back = np.load(io.BytesIO(data))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert np.array_equal(back, arr, equal_nan=arr.dtype.kind == 'f')
    buf.seek(0)
    got_version = npformat.read_magic(buf)
    _, fortran, _ = npformat._read_array_header(buf, got_version)
    assert tuple(got_version) == tuple(version)
    return describe(arr, version, bool(fortran))


def write_header_only(name, descr, shape):
    """A header numpy writes for a dtype the reader must refuse, with a few bytes of data."""
    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {'descr': descr, 'fortran_order': False, 'shape': shape})
    buf.write(b'\0' * 16)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(buf.getvalue())
    return {'descr': repr(descr) if not isinstance(descr, str) else descr}


def encode_with_repo(arrays):
    """encodeNpy (packages/core/dist) on each array, given as dtype, shape and values."""
    script = r"""
const core = require(process.argv[1]);
const ctors = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int16: Int16Array, uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array };
const jobs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
for (const [name, j] of Object.entries(jobs)) {
  const vals = j.values.map((v) => j.dtype === 'int64' ? BigInt(v) : j.dtype === 'bool' ? (v ? 1 : 0) : Number(v));
  const data = j.dtype === 'int64' ? BigInt64Array.from(vals) : ctors[j.dtype].from(vals);
  out[name] = Buffer.from(core.encodeNpy({ data, shape: j.shape, dtype: j.dtype })).toString('base64');
}
process.stdout.write(JSON.stringify(out));
"""
    dist = os.path.join(ROOT, 'packages', 'core', 'dist', 'index.js')
    r = subprocess.run(['node', '-e', script, dist], input=json.dumps(arrays).encode(),
                       capture_output=True, check=True, cwd=ROOT)
    return json.loads(r.stdout)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith('.npy'):
            os.remove(os.path.join(OUT, f))
    arrays = {}
    # every README dtype, little-endian (numpy's own byte order here), C order
    for dtype, vals in VALUES.items():
        arr = np.array(vals, dtype=dtype).reshape(2, 3)
        if arr.dtype.itemsize > 1:
            arr = arr.astype(arr.dtype.newbyteorder('<'))
        arrays[f'le_{dtype}.npy'] = write(f'le_{dtype}.npy', arr)
    # big-endian: numpy writes '>f4' etc. and big-endian data
    for dtype in ['float32', 'float64', 'int64', 'int32', 'int16', 'uint16']:
        arr = np.array(VALUES[dtype], dtype=np.dtype(dtype).newbyteorder('>')).reshape(2, 3)
        arrays[f'be_{dtype}.npy'] = write(f'be_{dtype}.npy', arr)
    # format versions 2.0 (4-byte header length) and 3.0 (utf-8 header)
    for v in [(2, 0), (3, 0)]:
        arrays[f'v{v[0]}_float32.npy'] = write(f'v{v[0]}_float32.npy', np.array(VALUES['float32'], '<f4').reshape(3, 2), v)
        arrays[f'v{v[0]}_int64.npy'] = write(f'v{v[0]}_int64.npy', np.array(VALUES['int64'], '<i8').reshape(6), v)
    # Fortran order: numpy stores the data column-major and says so in the header
    fortran = {
        'fortran_float32_2x3.npy': np.asfortranarray(np.array(VALUES['float32'], '<f4').reshape(2, 3)),
        'fortran_int16_2x3x4.npy': np.asfortranarray(np.arange(-12, 12, dtype='<i2').reshape(2, 3, 4) * 97),
        'fortran_bool_3x2.npy': np.asfortranarray(np.array(VALUES['bool'], bool).reshape(3, 2)),
        'fortran_be_float64_2x3.npy': np.asfortranarray(np.array(VALUES['float64'], '>f8').reshape(2, 3)),
        'fortran_int64_3x1x2.npy': np.asfortranarray(np.array(VALUES['int64'], '<i8').reshape(3, 1, 2)),
    }
    for name, arr in fortran.items():
        arrays[name] = write(name, arr)
        assert arrays[name]['fortran_order'], name
    # 0-d and empty arrays
    arrays['scalar_float64.npy'] = write('scalar_float64.npy', np.array(-7.25, '<f8'))
    arrays['scalar_bool.npy'] = write('scalar_bool.npy', np.array(True))
    arrays['empty_float32_0.npy'] = write('empty_float32_0.npy', np.zeros((0,), '<f4'))
    arrays['empty_int64_2x0x3.npy'] = write('empty_int64_2x0x3.npy', np.zeros((2, 0, 3), '<i8'))

    # dtypes outside the README's list: headers exactly as numpy writes them
    unsupported = {
        'unsupported_complex64.npy': write_header_only('unsupported_complex64.npy', '<c8', (2,)),
        'unsupported_object.npy': write_header_only('unsupported_object.npy', '|O', (2,)),
        'unsupported_float16.npy': write_header_only('unsupported_float16.npy', '<f2', (2,)),
        'unsupported_uint32.npy': write_header_only('unsupported_uint32.npy', '<u4', (2,)),
        'unsupported_unicode.npy': write_header_only('unsupported_unicode.npy', '<U2', (2,)),
        'unsupported_structured.npy': write_header_only(
            'unsupported_structured.npy', npformat.dtype_to_descr(np.dtype([('a', '<f4'), ('b', '<i2')])), (2,)),
    }

    # nested JSON data: the shape numpy.array gives it, or numpy's refusal of a ragged nesting
    nested = []
    for data in [[[1, 2, 3], [4, 5, 6]], [[[1], [2]], [[3], [4]]], [[[1, 2]], [[3, 4]]], [], [[], []], [7],
                 [[1, 2], [3]], [[1, 2], 3], [1, [2]], [[[1, 2], [3, 4]], [[5, 6], [7]]]]:
        try:
            nested.append({'data': data, 'shape': list(np.array(data, dtype=np.float32).shape)})
        except ValueError:
            nested.append({'data': data, 'ragged': True})

    # byte-order marks numpy writes rarely or never: what numpy.load (on a little-endian machine, as
    # every host this library runs on) makes of a header with each, over the data bytes given
    assert sys.byteorder == 'little'
    descr_variants = {}
    for descr, raw in [('=f4', np.array([1.5, -2], '<f4')), ('f4', np.array([1.5, -2], '<f4')),
                       ('|f4', np.array([1.5, -2], '<f4')), ('=i2', np.array([-3, 258], '<i2')),
                       ('<u1', np.array([1, 250], 'u1')), ('>u1', np.array([1, 250], 'u1')),
                       ('=b1', np.array([0, 1], 'u1'))]:
        h = io.BytesIO()
        npformat.write_array_header_1_0(h, {'descr': descr, 'fortran_order': False, 'shape': (2,)})
        arr = np.load(io.BytesIO(h.getvalue() + raw.tobytes()))
        descr_variants[descr] = {'data_hex': raw.tobytes().hex(), 'dtype': arr.dtype.name,
                                 'values': [json_value(v, arr.dtype.name) for v in arr]}

    # encodeNpy, checked by numpy.load
    to_encode = {n: {k: arrays[n][k] for k in ('dtype', 'shape', 'values')}
                 for n in arrays if n.startswith('le_') or n.startswith('scalar_') or n.startswith('empty_')}
    encoded = encode_with_repo(to_encode)
    for name, b64 in encoded.items():
        want = arrays[name]
        data = base64.b64decode(b64)
        arr = np.load(io.BytesIO(data), allow_pickle=False)
        assert arr.dtype.name == want['dtype'] and npformat.dtype_to_descr(arr.dtype) == want['descr'], (name, arr.dtype)
        assert list(arr.shape) == want['shape'], (name, arr.shape)
        got = [json_value(v, want['dtype']) for v in arr.ravel()]
        assert json.dumps(got) == json.dumps(want['values']), (name, got, want['values'])
        # numpy's own alignment rule: the data starts at a multiple of 64
        assert (len(data) - arr.nbytes) % 64 == 0, name

    manifest = {
        'generator': f'models/make_npy_fixtures.py, numpy {np.__version__}',
        'arrays': arrays,
        'unsupported': unsupported,
        'encoded': encoded,
        'json_nested': {json.dumps(c['data']): c for c in nested},
        'descr_variants': descr_variants,
    }
    # one entry a line: small, and a regenerated file diffs line by line
    lines = ['{', f' "generator": {json.dumps(manifest["generator"])},']
    keys = ['arrays', 'unsupported', 'encoded', 'json_nested', 'descr_variants']
    for i, key in enumerate(keys):
        entries = sorted(manifest[key].items())
        lines.append(f' {json.dumps(key)}: {{')
        lines += [f'  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}' + (',' if j < len(entries) - 1 else '')
                  for j, (k, v) in enumerate(entries)]
        lines.append(' }' + (',' if i < len(keys) - 1 else ''))
    lines.append('}')
    text = '\n'.join(lines) + '\n'
    assert json.loads(text) == json.loads(json.dumps(manifest))
    with open(os.path.join(OUT, 'npy_expected.json'), 'w') as f:
        f.write(text)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'wrote {len(arrays) + len(unsupported)} .npy fixtures and npy_expected.json to {OUT} ({total} bytes)')


if __name__ == '__main__':
    sys.exit(main())
