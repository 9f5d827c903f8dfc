/**
 * External data that points outside the model's folder is refused with an
 * error that names the tensor and the location, before any file is read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel, safeExternalLocation, ExternalDataError, inlineExternalData } from '@onnx-explain/core';
import { loadModelFile } from '@onnx-explain/node';
import { linearModel, externalize } from './helpers/edgeModels';
import { tmpDir } from './helpers/ort';

function writeExternalModel(dir: string, location: string): string {
  const model = linearModel();
  externalize(model, location);
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeModel(model));
  return file;
}

describe('safeExternalLocation', () => {
  test.each([
    ['weights.bin', 'weights.bin'],
    ['./data/w.bin', 'data/w.bin'],
    ['data/../w.bin', 'w.bin'],
    ['data\\w.bin', 'data/w.bin'],
  ])('accepts %s as %s', (loc, want) => expect(safeExternalLocation(loc)).toBe(want));

  test.each([
    ['../secret.bin', /leads out of the model's folder/],
    ['data/../../secret.bin', /leads out of the model's folder/],
    ['..\\secret.bin', /leads out of the model's folder/],
    ['/etc/passwd', /absolute path/],
    ['\\\\server\\share\\w.bin', /absolute path/],
    ['C:\\weights.bin', /absolute path/],
    ['', /names no file/],
    ['a\0b', /NUL/],
  ])('refuses %j', (loc, why) => {
    expect(() => safeExternalLocation(loc, 'W')).toThrow(ExternalDataError);
    expect(() => safeExternalLocation(loc, 'W')).toThrow(why);
    expect(() => safeExternalLocation(loc, 'W')).toThrow(/tensor 'W'/);
  });
});

describe('loading external data from a path', () => {
  test('a location that escapes the folder is refused and nothing outside is read', async () => {
    const outer = tmpDir();
    const dir = path.join(outer, 'model');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(outer, 'secret.bin'), new Uint8Array(64));
    const file = writeExternalModel(dir, '../secret.bin');
    await expect(loadModelFile(file)).rejects.toThrow(
      "tensor 'W': external-data location '../secret.bin' is refused: it leads out of the model's folder",
    );
    const reads: string[] = [];
    const model = (await loadModelFile(file, { loadExternalData: false })).model;
    await expect(inlineExternalData(model, (loc) => (reads.push(loc), new Uint8Array()))).rejects.toThrow(ExternalDataError);
    expect(reads).toEqual([]);
  });

  test('an absolute location is refused', async () => {
    const file = writeExternalModel(tmpDir(), '/etc/passwd');
    await expect(loadModelFile(file)).rejects.toThrow(/'\/etc\/passwd' is refused: it is an absolute path/);
  });

  test('a symbolic link inside the folder that points outside it is refused', async () => {
    const outer = tmpDir();
    const dir = path.join(outer, 'model');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(outer, 'outside.bin'), new Uint8Array(256));
    fs.symlinkSync(path.join(outer, 'outside.bin'), path.join(dir, 'link.bin'));
    const file = writeExternalModel(dir, 'link.bin');
    await expect(loadModelFile(file)).rejects.toThrow(/resolves to .*outside\.bin', outside the model's folder/);
  });

  test('a missing side file and a short side file get clear errors', async () => {
    const dir = tmpDir();
    const file = writeExternalModel(dir, 'weights.bin');
    await expect(loadModelFile(file)).rejects.toThrow(/external-data file 'weights.bin' does not exist/);
    fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(10));
    await expect(loadModelFile(file)).rejects.toThrow(/tensor 'W': external data \[0, 48\) lies beyond the end of 'weights.bin' \(10 bytes\)/);
  });
});

describe('model files', () => {
  test('a missing file, a directory and a file that is not ONNX get one clear line each', async () => {
    const dir = tmpDir();
    await expect(loadModelFile(path.join(dir, 'nope.onnx'))).rejects.toThrow(/model file '.*nope\.onnx' does not exist/);
    await expect(loadModelFile(dir)).rejects.toThrow(/is a directory, not a file/);
    const text = path.join(dir, 'readme.onnx');
    fs.writeFileSync(text, 'this is plain text, not a protobuf model\n');
    await expect(loadModelFile(text)).rejects.toThrow(/readme\.onnx' is not an ONNX model/);
    const empty = path.join(dir, 'empty.onnx');
    fs.writeFileSync(empty, '');
    await expect(loadModelFile(empty)).rejects.toThrow(/is not an ONNX model: it has no graph/);
  });
});
