/**
 * Loading a model from a URL (@onnx-explain/web's fetchModel), against a real
 * HTTP server on 127.0.0.1: only http(s) is fetched, the final URL after
 * redirects is reported and side files are resolved against it, the bytes
 * read are capped (declared lengths refused before the download, undeclared
 * ones while streaming), and an external-data location can only name a file
 * in the model's own folder, whatever URL syntax it carries.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeModel, tensorToArray, type ModelProto } from '@onnx-explain/core';
import { fetchModel, sideFileUrl, checkModelUrl } from '../../packages/web/src/loadModel';
import { linearModel, externalize } from '../helpers/edgeModels';

let server: http.Server;
let base: string;
const requests: string[] = [];
const files = new Map<string, Uint8Array>();

function withSideFile(location: string): { model: Uint8Array; side: Uint8Array; original: ModelProto } {
  const original = linearModel();
  const model = linearModel();
  const side = externalize(model, location);
  return { model: encodeModel(model), side, original };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    if (url === '/moved') return void res.writeHead(302, { Location: '/models/v2/model.onnx' }).end();
    if (url === '/declared-big') {
      res.writeHead(200, { 'Content-Length': String(3 << 20) });
      res.write(new Uint8Array(1024)); // the client must give up without reading the rest
      return;
    }
    if (url === '/streamed-big') {
      // no Content-Length: chunks until the client hangs up (bounded: at most 64 MiB)
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      let sent = 0;
      const push = () => {
        while (sent < 64 << 20 && res.write(new Uint8Array(64 << 10))) sent += 64 << 10;
        if (sent >= 64 << 20) res.end();
      };
      res.on('drain', push);
      res.on('close', () => res.off('drain', push));
      push();
      return;
    }
    const body = files.get(url);
    if (!body) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Length': String(body.length) }).end(Buffer.from(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  requests.length = 0;
  files.clear();
});

test('a redirected model reports its final URL and reads its side file from that folder', async () => {
  const { model, side, original } = withSideFile('weights/w.bin');
  files.set('/models/v2/model.onnx', model);
  files.set('/models/v2/weights/w.bin', side);
  const loaded = await fetchModel(`${base}/moved`);
  expect(loaded.url).toBe(`${base}/models/v2/model.onnx`);
  expect(loaded.bytes).toBe(model.length + side.length);
  expect(requests).toEqual(['/moved', '/models/v2/model.onnx', '/models/v2/weights/w.bin']);
  const w = loaded.model.graph!.initializer!.find((t) => t.name === 'W')!;
  expect(Array.from(tensorToArray(w) as Float32Array)).toEqual(Array.from(tensorToArray(original.graph!.initializer!.find((t) => t.name === 'W')!) as Float32Array));
});

test.each([
  ['javascript:alert(1)', 'javascript:'],
  ['file:///etc/passwd', 'file:'],
  ['data:application/octet-stream;base64,AAAA', 'data:'],
  ['blob:http://127.0.0.1/x', 'blob:'],
])('%s is refused before anything is fetched', async (url, scheme) => {
  await expect(fetchModel(url)).rejects.toThrow(`its scheme is ${scheme}, only http: and https: are loaded`);
  expect(requests).toEqual([]);
});

test('a relative URL without a page to resolve it against is not a URL', () => {
  expect(() => checkModelUrl('models/x.onnx')).toThrow("'models/x.onnx' is not a URL");
});

test('a declared length over the cap is refused before the download', async () => {
  await expect(fetchModel(`${base}/declared-big`, { maxBytes: 1 << 20 })).rejects.toThrow(
    `model '${base}/declared-big' is 3.0 MiB, over the 1.0 MiB limit for models loaded from a URL (raise it with maxBytes`,
  );
});

test('an undeclared length is cut off once it passes the cap', async () => {
  await expect(fetchModel(`${base}/streamed-big`, { maxBytes: 1 << 20 })).rejects.toThrow(
    /model '.*\/streamed-big' is more than 1\.\d MiB, over the 1\.0 MiB limit/,
  );
});

test('side files count towards the cap', async () => {
  const { model, side } = withSideFile('w.bin');
  files.set('/m/model.onnx', model);
  files.set('/m/w.bin', side);
  const cap = model.length + side.length - 1;
  await expect(fetchModel(`${base}/m/model.onnx`, { maxBytes: cap })).rejects.toThrow(/with its external data \(up to 'w\.bin'\) comes to 0\.\d+ MiB, over the/);
  await expect(fetchModel(`${base}/m/model.onnx`, { maxBytes: cap + 1 })).resolves.toMatchObject({ bytes: cap + 1 });
});

test.each([
  ['%2e%2e/secret.bin', '/m/%252e%252e/secret.bin'],
  ['a?b#c.bin', '/m/a%3Fb%23c.bin'],
  ['weights:v1.bin', '/m/weights%3Av1.bin'],
  ['sub/../w.bin', '/m/w.bin'],
])('the location %j is a file in the model folder: %s', async (location, path) => {
  const { model, side } = withSideFile(location);
  files.set('/m/model.onnx', model);
  files.set('/m/w.bin', side);
  files.set('/secret.bin', side);
  const result = fetchModel(`${base}/m/model.onnx`);
  if (path === '/m/w.bin') await expect(result).resolves.toBeDefined();
  else await expect(result).rejects.toThrow(`could not be fetched from '${base}${path}': HTTP 404`);
  expect(requests).toEqual(['/m/model.onnx', path]);
});

test('sideFileUrl keeps encoded segments inside the folder', () => {
  expect(sideFileUrl('https://h.example/a/b/model.onnx?token=1', 'w.bin')).toBe('https://h.example/a/b/w.bin');
  expect(sideFileUrl('https://h.example/a/b/model.onnx', 'x/%2e%2e/%2e%2e/w.bin')).toBe('https://h.example/a/b/x/%252e%252e/%252e%252e/w.bin');
  expect(sideFileUrl('https://h.example/model.onnx', 'C:w.bin')).toBe('https://h.example/C%3Aw.bin');
});

test.each([
  ['../secret.bin', "it leads out of the model's folder"],
  ['//evil.example/x.bin', 'it is an absolute path'],
])('the location %j is refused by core before any side file is fetched', async (location, why) => {
  const { model } = withSideFile(location);
  files.set('/m/model.onnx', model);
  await expect(fetchModel(`${base}/m/model.onnx`)).rejects.toThrow(`external-data location '${location}' is refused: ${why}`);
  expect(requests).toEqual(['/m/model.onnx']);
});
