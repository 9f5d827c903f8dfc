/**
 * @onnx-explain/core: runtime-neutral pieces of onnx-explain. Nothing here
 * touches the file system, the network or a runtime binding, so it runs
 * unchanged in Node and in a browser.
 */
export * from './onnx';
export * from './inspect';
export * from './checkInput';
export * from './labels';
export * from './grad';
export * from './runtime';
export * from './methods';
export * from './trees';
export * from './text';
export * from './metrics';
export * from './viz';
export * from './io/npy';
