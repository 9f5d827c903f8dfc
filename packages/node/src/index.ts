export * from './modelFile';
export * from './npy';
export * from './inputFile';
export * from './session';
export * from './ortRuntime';
export * from './image';
export * from './runtime';
export * from './explain';
