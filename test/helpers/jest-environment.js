/**
 * jest runs each test file in its own VM context, whose typed-array
 * constructors differ from the ones native addons use. onnxruntime-node builds
 * output tensors with the host's Float32Array and then checks them with
 * `instanceof` against the context's: every run fails. Sharing the host's
 * constructors with the context removes the mismatch.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArrayEnvironment;
