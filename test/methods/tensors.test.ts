/** Row helpers over dense tensors: rows repeated and reordered by index, of any element type. */
import { gatherRows, rowSize } from '../../packages/core/src/methods/tensors';

test('gatherRows takes rows by index, repeated and reordered, keeping the type and the row shape', () => {
  const t = { type: 'int64' as const, dims: [3, 2, 2], data: BigInt64Array.from([0n, 1n, 2n, 3n, 10n, 11n, 12n, 13n, 20n, 21n, 22n, 23n]) };
  const g = gatherRows(t, [2, 0, 2]);
  expect(g.type).toBe('int64');
  expect(g.dims).toEqual([3, 2, 2]);
  expect(g.data).toBeInstanceOf(BigInt64Array);
  expect(Array.from(g.data as BigInt64Array, Number)).toEqual([20, 21, 22, 23, 0, 1, 2, 3, 20, 21, 22, 23]);
  const f = gatherRows({ type: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, [1]);
  expect([f.dims, Array.from(f.data as Float32Array)]).toEqual([[1, 3], [4, 5, 6]]);
});

test('rowSize is the product of the non-batch dims (1 for a vector of rows)', () => {
  expect(rowSize({ type: 'float32', dims: [4, 2, 3], data: new Float32Array(24) })).toBe(6);
  expect(rowSize({ type: 'float32', dims: [4], data: new Float32Array(4) })).toBe(1);
});
