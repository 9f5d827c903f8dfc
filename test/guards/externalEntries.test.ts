/**
 * External-data entries as a model file may carry them, malformed or not:
 * the parsed location, offset, length and checksum; the refusals for a
 * missing location or a non-integer offset or length; and, when the bytes are
 * inlined, ranges past the end of the side file and lengths that do not fit
 * the tensor's shape and type. Every message names the tensor and the file.
 */
import { externalDataInfo, inlineExternalData, ExternalDataError, DataType, type ModelProto, type TensorProto } from '@onnx-explain/core';

function tensor(entries: Record<string, string>, opts: { name?: string; dims?: number[]; dataType?: number } = {}): TensorProto {
  const t: TensorProto = {
    dims: opts.dims ?? [2, 2],
    dataType: opts.dataType ?? DataType.FLOAT,
    dataLocation: 1,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
  };
  if (opts.name !== undefined) t.name = opts.name;
  return t;
}
const model = (...ts: TensorProto[]): ModelProto => ({ irVersion: 8, graph: { initializer: ts } });
const file = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

describe('externalDataInfo', () => {
  test('location, offset, length and checksum as written', () => {
    expect(externalDataInfo(tensor({ location: 'w.bin', offset: '64', length: '16', checksum: 'abc' }, { name: 'W' }))).toEqual({ location: 'w.bin', offset: 64, length: 16, checksum: 'abc' });
  });
  test('an absent or empty offset is 0, an absent or empty length means to the end of the file', () => {
    expect(externalDataInfo(tensor({ location: 'w.bin' }))).toEqual({ location: 'w.bin', offset: 0, length: undefined, checksum: undefined });
    expect(externalDataInfo(tensor({ location: 'w.bin', offset: '', length: '' }))).toMatchObject({ offset: 0, length: undefined });
  });
  test.each(['abc', '12abc', 'abc12', '-3', '1.5', ' 4'])('offset %j is refused, naming the tensor', (v) => {
    const t = tensor({ location: 'w.bin', offset: v }, { name: 'W' });
    expect(() => externalDataInfo(t)).toThrow(ExternalDataError);
    expect(() => externalDataInfo(t)).toThrow(`tensor 'W': external-data offset '${v}' is not a non-negative integer`);
  });
  test('a bad length is named as the length', () => {
    expect(() => externalDataInfo(tensor({ location: 'w.bin', length: 'x' }, { name: 'W' }))).toThrow("tensor 'W': external-data length 'x' is not a non-negative integer");
  });
  test('no location: refused; an unnamed tensor is called (unnamed)', () => {
    expect(() => externalDataInfo(tensor({ offset: '0' }, { name: 'W' }))).toThrow("tensor 'W' is marked EXTERNAL but has no 'location' entry");
    expect(() => externalDataInfo(tensor({ location: '' }))).toThrow("tensor '(unnamed)' is marked EXTERNAL but has no 'location' entry");
    expect(new ExternalDataError('x').name).toBe('ExternalDataError');
  });
});

describe('inlineExternalData', () => {
  test('bytes are copied from the offset; the entry is removed; each file is read once', async () => {
    const reads: string[] = [];
    const a = tensor({ location: 'w.bin', offset: '4', length: '16' }, { name: 'A' });
    const b = tensor({ location: 'w.bin', offset: '20' }, { name: 'B', dims: [3] });
    expect(await inlineExternalData(model(a, b), (loc) => (reads.push(loc), file(32)))).toBe(2);
    expect(reads).toEqual(['w.bin']);
    expect(Array.from(a.rawData!)).toEqual(Array.from(file(32).slice(4, 20)));
    expect(Array.from(b.rawData!)).toEqual(Array.from(file(32).slice(20, 32)));
    expect(a.externalData).toBeUndefined();
    expect(a.dataLocation).toBeUndefined();
  });

  test.each([
    [{ offset: '100' }, "tensor 'W': external data [100, 64) lies beyond the end of 'w.bin' (64 bytes)"],
    [{ offset: '60', length: '16' }, "tensor 'W': external data [60, 76) lies beyond the end of 'w.bin' (64 bytes)"],
    [{ offset: '65', length: '0' }, "tensor 'W': external data [65, 65) lies beyond the end of 'w.bin' (64 bytes)"],
  ])('a range past the end of the file: %j', async (entries, message) => {
    await expect(inlineExternalData(model(tensor({ location: 'w.bin', ...entries }, { name: 'W' })), () => file(64))).rejects.toThrow(message);
  });

  test('an empty tensor may sit exactly at the end of the file', async () => {
    const t = tensor({ location: 'w.bin', offset: '64' }, { name: 'E', dims: [0] });
    await inlineExternalData(model(t), () => file(64));
    expect(t.rawData!.length).toBe(0);
  });

  test.each([
    [{ offset: '0', length: '12' }, [2, 2], "tensor 'W' of shape [2, 2] and type float32 needs 16 bytes, its external data in 'w.bin' has 12"],
    [{ offset: '8' }, [2, 2], "tensor 'W' of shape [2, 2] and type float32 needs 16 bytes, its external data in 'w.bin' has 56"],
  ])('a length that does not fit the shape: %j %j', async (entries, dims, message) => {
    await expect(inlineExternalData(model(tensor({ location: 'w.bin', ...entries }, { name: 'W', dims })), () => file(64))).rejects.toThrow(message);
  });

  test('a length that fits the shape is taken', async () => {
    const t = tensor({ location: 'w.bin', offset: '0', length: '20' }, { name: 'W', dims: [5] });
    await expect(inlineExternalData(model(t), () => file(64))).resolves.toBe(1);
    expect(t.rawData!.length).toBe(20);
  });

  test('string tensors have no fixed size: any length is taken', async () => {
    const t = tensor({ location: 'w.bin', offset: '3', length: '5' }, { name: 'S', dims: [1], dataType: DataType.STRING });
    await inlineExternalData(model(t), () => file(64));
    expect(Array.from(t.rawData!)).toEqual([3, 4, 5, 6, 7]);
  });

  test('an unnamed tensor is named (unnamed) in the error', async () => {
    await expect(inlineExternalData(model(tensor({ location: 'w.bin', offset: '99' })), () => file(8))).rejects.toThrow("tensor '(unnamed)': external data [99, 8)");
  });
});
