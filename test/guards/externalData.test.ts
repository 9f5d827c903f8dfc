/**
 * The external-data guards at their boundaries, beyond test/externalData.test.ts:
 * a sibling folder whose name extends the model folder's, '..' that appears
 * only after normalisation (checked against Node's own path.posix and
 * path.win32 normalisers), absolute paths in every form (against path's
 * notion of a root), chains of symbolic links that end outside or inside,
 * a model folder that is itself a link, side files that are directories or
 * loops, and the user's files left byte for byte as they were.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExternalDataError, encodeModel, inlineExternalData, safeExternalLocation, type ModelProto } from '@onnx-explain/core';
import { folderReader, loadModelFile } from '@onnx-explain/node';
import { externalize, linearModel } from '../helpers/edgeModels';
import { tmpDir } from '../helpers/ort';

/** The initializers' bytes as linearModel has them inline. */
const inline = Object.fromEntries(linearModel().graph!.initializer!.map((t) => [t.name!, Array.from(t.rawData!)]));

/** Writes dir/model.onnx whose initializers live at `location`; returns the model file and the side file's bytes. */
function writeModel(dir: string, location: string): { file: string; side: Uint8Array } {
  const model = linearModel();
  const side = externalize(model, location);
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeModel(model));
  return { file, side };
}
const loadedBytes = (m: ModelProto) => Object.fromEntries(m.graph!.initializer!.map((t) => [t.name!, Array.from(t.rawData!)]));

/** outer/model (the model's folder) and outer/model-evil (a sibling whose name starts with the folder's). */
function layout() {
  const outer = fs.realpathSync(tmpDir());
  const dir = path.join(outer, 'model');
  const evil = path.join(outer, 'model-evil');
  fs.mkdirSync(dir);
  fs.mkdirSync(evil);
  return { outer, dir, evil };
}

describe('a sibling folder whose name starts with the model folder\'s name is outside', () => {
  test('a side file linked to model-evil/w.bin is refused (a bare startsWith(dir) would let it in)', async () => {
    const { dir, evil } = layout();
    const { file, side } = writeModel(dir, 'w.bin');
    fs.writeFileSync(path.join(evil, 'w.bin'), side);
    fs.symlinkSync(path.join(evil, 'w.bin'), path.join(dir, 'w.bin'));
    expect(path.join(evil, 'w.bin').startsWith(dir)).toBe(true); // the trap is real
    await expect(loadModelFile(file)).rejects.toThrow(ExternalDataError);
    await expect(loadModelFile(file)).rejects.toThrow(
      `external-data location 'w.bin' resolves to '${path.join(evil, 'w.bin')}', outside the model's folder '${dir}'; refused`,
    );
  });

  test('the same through a relative link, and through a linked subfolder', async () => {
    const { dir, evil } = layout();
    const { side } = writeModel(dir, 'x');
    fs.writeFileSync(path.join(evil, 'w.bin'), side);
    fs.symlinkSync('../model-evil/w.bin', path.join(dir, 'rel.bin'));
    fs.symlinkSync('../model-evil', path.join(dir, 'sub'));
    const read = folderReader(dir);
    await expect(read('rel.bin')).rejects.toThrow(/^external-data location 'rel\.bin' resolves to '.*model-evil\/w\.bin', outside the model's folder/);
    await expect(read('sub/w.bin')).rejects.toThrow(/^external-data location 'sub\/w\.bin' resolves to '.*model-evil\/w\.bin', outside/);
    // the model folder named with a trailing separator or a './' changes nothing
    await expect(folderReader(dir + path.sep)('rel.bin')).rejects.toThrow(/outside the model's folder/);
    await expect(folderReader(path.join(dir, '.'))('sub/w.bin')).rejects.toThrow(/outside the model's folder/);
  });

  test('and a real file in a folder named like that inside the model folder is fine', async () => {
    const { dir } = layout();
    const { file, side } = writeModel(dir, 'model-evil/w.bin');
    fs.mkdirSync(path.join(dir, 'model-evil'));
    fs.writeFileSync(path.join(dir, 'model-evil/w.bin'), side);
    const loaded = await loadModelFile(file);
    expect(loaded.externalTensors).toBe(2);
    expect(loadedBytes(loaded.model)).toEqual(inline);
  });
});

describe("'..' that only shows after normalisation", () => {
  // escaping: path.posix.normalize (or path.win32.normalize for backslashes) leaves a leading '..'
  const escaping = [
    'a/./../../w.bin',
    'a//..//..//w.bin',
    './../w.bin',
    'a/b/../../../w.bin',
    'a/../b/../..',
    'a/../../a/w.bin',
    './/.//..//w.bin',
    'a\\.\\..\\..\\w.bin',
    'a\\\\..\\\\..\\\\w.bin',
    'a/.\\..\\../w.bin',
    'a\\b/..\\..\\../w.bin',
  ];
  const staying: [string, string][] = [
    ['a/./../w.bin', 'w.bin'],
    ['a//b///w.bin', 'a/b/w.bin'],
    ['a\\..\\w.bin', 'w.bin'],
    ['x/../x/../w.bin', 'w.bin'],
    ['a/b/../../w.bin', 'w.bin'],
    ['./././w.bin', 'w.bin'],
    ['..w.bin', '..w.bin'],
    ['w..bin', 'w..bin'],
    ['.../w.bin', '.../w.bin'],
    ['a/..w/w.bin', 'a/..w/w.bin'],
    ['file:///etc/passwd', 'file:/etc/passwd'],
  ];
  const oracleEscapes = (loc: string) => {
    const p = path.posix.normalize(loc.replace(/\\/g, '/'));
    const w = path.win32.normalize(loc);
    return p === '..' || p.startsWith('../') || w === '..' || w.startsWith('..\\');
  };

  test.each(escaping)('%s is refused', (loc) => {
    expect(oracleEscapes(loc)).toBe(true);
    expect(() => safeExternalLocation(loc, 'W')).toThrow(
      `tensor 'W': external-data location '${loc}' is refused: it leads out of the model's folder; it must be a relative path inside the model's folder`,
    );
  });

  test.each(staying)('%s stays inside, as %s', (loc, want) => {
    expect(oracleEscapes(loc)).toBe(false);
    expect(safeExternalLocation(loc)).toBe(want);
    // the same file Node's normaliser names
    expect(want).toBe(path.posix.normalize(loc.replace(/\\/g, '/')).replace(/^(\.\/)+/, ''));
  });

  test.each([['a/..'], ['.'], ['./'], ['a/./..'], ['a\\..'], ['a/b/../..']])('%j names the folder itself: no file', (loc) => {
    expect(() => safeExternalLocation(loc, 'W')).toThrow(/is refused: it names no file/);
  });

  test('a model whose location escapes only after normalisation is refused before any file is read', async () => {
    const { outer, dir } = layout();
    fs.writeFileSync(path.join(outer, 'w.bin'), new Uint8Array(256));
    for (const loc of ['a/./../../w.bin', 'a//..//..//w.bin', 'a\\.\\..\\..\\w.bin']) {
      const { file } = writeModel(dir, loc);
      await expect(loadModelFile(file)).rejects.toThrow(`external-data location '${loc}' is refused: it leads out of the model's folder`);
      const reads: string[] = [];
      const model = (await loadModelFile(file, { loadExternalData: false })).model;
      await expect(inlineExternalData(model, (l) => (reads.push(l), new Uint8Array(256)))).rejects.toThrow(ExternalDataError);
      expect(reads).toEqual([]);
    }
  });

  test('a URL-looking location stays a file name inside the folder', async () => {
    const { dir } = layout();
    const { file } = writeModel(dir, 'file:///etc/passwd');
    await expect(loadModelFile(file)).rejects.toThrow(
      `external-data file 'file:/etc/passwd' does not exist next to the model (looked for '${path.join(dir, 'file:/etc/passwd')}')`,
    );
  });
});

describe('absolute paths in every form are refused', () => {
  const absolute = [
    '/etc/passwd',
    '/',
    '//server/share/w.bin',
    '\\',
    '\\w.bin',
    '\\\\server\\share\\w.bin',
    '\\\\?\\C:\\w.bin',
    '\\\\.\\pipe\\w',
    'C:\\w.bin',
    'C:/w.bin',
    'c:w.bin',
    'Z:',
    'z:..\\w.bin',
    '/tmp/../etc/passwd',
  ];
  test.each(absolute)('%s', (loc) => {
    // Node agrees it has a root, POSIX or Windows (drive-relative 'c:w.bin' included)
    expect(path.posix.parse(loc).root !== '' || path.win32.parse(loc).root !== '').toBe(true);
    expect(() => safeExternalLocation(loc, 'W')).toThrow(
      `tensor 'W': external-data location '${loc}' is refused: it is an absolute path; it must be a relative path inside the model's folder`,
    );
  });

  test('an absolute path to a file inside the model folder is refused too (the rule is about the form)', async () => {
    const { dir } = layout();
    const inside = path.join(dir, 'w.bin');
    const { file, side } = writeModel(dir, inside);
    fs.writeFileSync(inside, side);
    await expect(loadModelFile(file)).rejects.toThrow(`'${inside}' is refused: it is an absolute path`);
  });
});

describe('chains of symbolic links are judged by where they end', () => {
  test('link -> link -> a file outside: refused, naming the final target', async () => {
    const { outer, dir } = layout();
    const { file, side } = writeModel(dir, 'first.bin');
    fs.writeFileSync(path.join(outer, 'secret.bin'), side);
    fs.symlinkSync(path.join(outer, 'secret.bin'), path.join(dir, 'second.bin'));
    fs.symlinkSync('second.bin', path.join(dir, 'first.bin'));
    await expect(loadModelFile(file)).rejects.toThrow(
      `external-data location 'first.bin' resolves to '${path.join(outer, 'secret.bin')}', outside the model's folder '${dir}'; refused`,
    );
  });

  test('link -> link -> a file inside: accepted, with the file\'s bytes', async () => {
    const { dir } = layout();
    const { file, side } = writeModel(dir, 'first.bin');
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data/real.bin'), side);
    fs.symlinkSync('data/real.bin', path.join(dir, 'second.bin'));
    fs.symlinkSync(path.join(dir, 'second.bin'), path.join(dir, 'first.bin'));
    const loaded = await loadModelFile(file);
    expect(loadedBytes(loaded.model)).toEqual(inline);
  });

  test('a chain that passes outside and ends inside is judged by its end: accepted', async () => {
    const { outer, dir } = layout();
    const { file, side } = writeModel(dir, 'first.bin');
    fs.writeFileSync(path.join(dir, 'real.bin'), side);
    fs.symlinkSync(path.join(dir, 'real.bin'), path.join(outer, 'hop.bin'));
    fs.symlinkSync(path.join(outer, 'hop.bin'), path.join(dir, 'first.bin'));
    expect(loadedBytes((await loadModelFile(file)).model)).toEqual(inline);
  });

  test('a dangling link to a path outside says the file does not exist', async () => {
    const { outer, dir } = layout();
    const { file } = writeModel(dir, 'gone.bin');
    fs.symlinkSync(path.join(outer, 'never-written.bin'), path.join(dir, 'gone.bin'));
    await expect(loadModelFile(file)).rejects.toThrow(`external-data file 'gone.bin' does not exist next to the model (looked for '${path.join(dir, 'gone.bin')}')`);
  });

  test('a loop of links is named as one', async () => {
    const { dir } = layout();
    const { file } = writeModel(dir, 'a.bin');
    fs.symlinkSync('b.bin', path.join(dir, 'a.bin'));
    fs.symlinkSync('a.bin', path.join(dir, 'b.bin'));
    await expect(loadModelFile(file)).rejects.toThrow(`external-data file 'a.bin' is a loop of symbolic links (at '${path.join(dir, 'a.bin')}')`);
  });
});

describe('a model folder reached through a symbolic link', () => {
  test('side files inside the real folder are accepted, read through the link', async () => {
    const { outer } = layout();
    const real = path.join(outer, 'real');
    fs.mkdirSync(real);
    const { side } = writeModel(real, 'w.bin');
    fs.writeFileSync(path.join(real, 'w.bin'), side);
    fs.symlinkSync(real, path.join(outer, 'link'));
    const loaded = await loadModelFile(path.join(outer, 'link', 'model.onnx'));
    expect(loaded.path).toBe(path.join(outer, 'link', 'model.onnx'));
    expect(loadedBytes(loaded.model)).toEqual(inline);
  });

  test('a side file linked through the folder link\'s own path is inside', async () => {
    const { outer } = layout();
    const real = path.join(outer, 'real');
    fs.mkdirSync(real);
    const { side } = writeModel(real, 'w.bin');
    fs.writeFileSync(path.join(real, 'data.bin'), side);
    fs.symlinkSync(real, path.join(outer, 'link'));
    fs.symlinkSync(path.join(outer, 'link', 'data.bin'), path.join(real, 'w.bin'));
    expect(loadedBytes((await loadModelFile(path.join(outer, 'link', 'model.onnx'))).model)).toEqual(inline);
  });

  test('the real folder\'s name-prefix sibling is still outside', async () => {
    const { outer } = layout();
    const real = path.join(outer, 'real');
    fs.mkdirSync(real);
    fs.mkdirSync(path.join(outer, 'real2'));
    const { side } = writeModel(real, 'w.bin');
    fs.writeFileSync(path.join(outer, 'real2', 'w.bin'), side);
    fs.symlinkSync(path.join(outer, 'real2', 'w.bin'), path.join(real, 'w.bin'));
    fs.symlinkSync(real, path.join(outer, 'link'));
    await expect(loadModelFile(path.join(outer, 'link', 'model.onnx'))).rejects.toThrow(
      `resolves to '${path.join(outer, 'real2', 'w.bin')}', outside the model's folder '${real}'; refused`,
    );
  });

  test('a link to the link\'s target folder from inside is inside (it resolves to the folder)', async () => {
    const { outer } = layout();
    const real = path.join(outer, 'real');
    fs.mkdirSync(real);
    fs.mkdirSync(path.join(real, 'd'));
    const { side } = writeModel(real, 'self/d/w.bin');
    fs.writeFileSync(path.join(real, 'd', 'w.bin'), side);
    fs.symlinkSync(path.join(outer, 'link'), path.join(real, 'self'));
    fs.symlinkSync(real, path.join(outer, 'link'));
    expect(loadedBytes((await loadModelFile(path.join(outer, 'link', 'model.onnx'))).model)).toEqual(inline);
  });
});

describe('side files that are not files', () => {
  test('a directory', async () => {
    const { dir } = layout();
    const { file } = writeModel(dir, 'weights');
    fs.mkdirSync(path.join(dir, 'weights'));
    await expect(loadModelFile(file)).rejects.toThrow(`external-data file '${path.join(dir, 'weights')}' is a directory, not a file`);
  });

  test('a link to a directory inside, and a link to the model folder itself', async () => {
    const { dir } = layout();
    fs.mkdirSync(path.join(dir, 'weights'));
    fs.symlinkSync('weights', path.join(dir, 'w.bin'));
    fs.symlinkSync('.', path.join(dir, 'here.bin'));
    const read = folderReader(dir);
    await expect(read('w.bin')).rejects.toThrow(`external-data file '${path.join(dir, 'weights')}' is a directory, not a file`);
    await expect(read('here.bin')).rejects.toThrow(`external-data file '${dir}' is a directory, not a file`);
  });

  test('a path through a regular file', async () => {
    const { dir } = layout();
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    await expect(folderReader(dir)('plain/w.bin')).rejects.toThrow(/^external-data file 'plain\/w\.bin' does not exist next to the model/);
  });
});

describe('a model in the file system\'s root folder', () => {
  test('any file below / is inside it', async () => {
    // the folder is '/', so its prefix is '/' itself, not '//'
    const { dir } = layout();
    const { side } = writeModel(dir, 'x');
    fs.writeFileSync(path.join(dir, 'w.bin'), side);
    const rel = path.relative('/', path.join(dir, 'w.bin'));
    expect(Array.from(await folderReader('/')(rel))).toEqual(Array.from(side));
  });
});

describe("the user's files are only read", () => {
  test('the model file, its side file and its folder are byte-for-byte and entry-for-entry unchanged', async () => {
    const { dir } = layout();
    const { file, side } = writeModel(dir, 'sub/w.bin');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub/w.bin'), side);
    const hash = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    const before = { model: hash(file), side: hash(path.join(dir, 'sub/w.bin')), mtime: fs.statSync(file).mtimeMs, entries: fs.readdirSync(dir, { recursive: true }).sort() };
    const loaded = await loadModelFile(file);
    // the in-memory copy changed (external data inlined), the file did not
    expect(loaded.model.graph!.initializer!.every((t) => t.externalData === undefined && t.rawData!.length > 0)).toBe(true);
    expect(Buffer.from(encodeModel(loaded.model)).equals(fs.readFileSync(file))).toBe(false);
    const after = { model: hash(file), side: hash(path.join(dir, 'sub/w.bin')), mtime: fs.statSync(file).mtimeMs, entries: fs.readdirSync(dir, { recursive: true }).sort() };
    expect(after).toEqual(before);
    // and a second load finds the same references to follow
    expect((await loadModelFile(file, { loadExternalData: false })).externalTensors).toBe(2);
  });
});
