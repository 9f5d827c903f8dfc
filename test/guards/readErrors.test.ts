/**
 * File errors other than "missing" become one line naming the file and the
 * reason: a name too long for the file system (ENAMETOOLONG), for an input
 * file and for a model's side file; permission denied (simulated: the tests
 * run as root, whom nothing is denied); and a JSON input with an empty axis.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel } from '@onnx-explain/core';
import { loadModelFile, readInputFile, ModelFileError } from '@onnx-explain/node';
import { readFileExplained } from '../../packages/node/src/readFile';
import { linearModel, externalize } from '../helpers/edgeModels';
import { tmpDir } from '../helpers/ort';

const tooLong = 'x'.repeat(300) + '.npy';

test('an input file whose name is too long: "cannot be read" with the reason', async () => {
  const file = path.join(tmpDir(), tooLong);
  await expect(readFileExplained(file, 'input file', (m) => new Error(m), 'x...npy')).rejects.toThrow(/^input file 'x\.\.\.npy' cannot be read: ENAMETOOLONG/);
  await expect(readInputFile(file)).rejects.toThrow(/cannot be read: ENAMETOOLONG/);
});

test('a directory is named as one', async () => {
  await expect(readFileExplained(tmpDir(), 'input file', (m) => new Error(m), 'd')).rejects.toThrow("input file 'd' is a directory, not a file");
});

test('a side file whose name is too long: "cannot be resolved" with the reason', async () => {
  const dir = tmpDir();
  const model = linearModel();
  externalize(model, 'y'.repeat(300) + '.bin');
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(model));
  await expect(loadModelFile(path.join(dir, 'model.onnx'))).rejects.toThrow(/external-data file 'y+\.bin' cannot be resolved: ENAMETOOLONG/);
});

test('a JSON input may have an empty axis', async () => {
  const file = path.join(tmpDir(), 'empty.json');
  fs.writeFileSync(file, JSON.stringify({ shape: [0, 3], dtype: 'float32', data: [] }));
  const a = await readInputFile(file);
  expect(a.shape).toEqual([0, 3]);
  expect(a.data.length).toBe(0);
});

test('permission denied is said in words; any other error keeps its reason', async () => {
  const denied = Object.assign(new Error("EACCES: permission denied, open 'w.npy'"), { code: 'EACCES' });
  const busy = Object.assign(new Error("EBUSY: resource busy or locked, open 'w.npy'"), { code: 'EBUSY' });
  const spy = jest.spyOn(fs.promises, 'readFile').mockRejectedValueOnce(denied).mockRejectedValueOnce(busy);
  try {
    await expect(readFileExplained('/x/w.npy', 'input file', (m) => new Error(m), 'w.npy')).rejects.toThrow(/^input file 'w\.npy' cannot be read \(permission denied\)$/);
    await expect(readFileExplained('/x/w.npy', 'input file', (m) => new Error(m), 'w.npy')).rejects.toThrow(
      /^input file 'w\.npy' cannot be read: EBUSY: resource busy or locked, open 'w\.npy'$/,
    );
    expect(spy).toHaveBeenCalledTimes(2);
  } finally {
    spy.mockRestore();
  }
});

test('the name shown defaults to the path', async () => {
  const missing = path.join(tmpDir(), 'nope.npy');
  await expect(readFileExplained(missing, 'input file', (m) => new Error(m))).rejects.toThrow(`input file '${missing}' does not exist`);
});

test('a model file error is a ModelFileError by class and by name (what logs show)', async () => {
  const missing = path.join(tmpDir(), 'nope.onnx');
  const err = await loadModelFile(missing).then(() => undefined, (e: Error) => e);
  expect(err).toBeInstanceOf(ModelFileError);
  expect(err!.name).toBe('ModelFileError');
});
