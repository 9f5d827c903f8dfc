export * from './modelFile';
export * from './inputFile';
export * from './ortRuntime';
export * from './image';
export * from './runtime';
export * from './explain';
export { parseNpy, encodeNpy, NpyError, type NdArray } from '@onnx-explain/core';
export * from './tokenizerFile';
