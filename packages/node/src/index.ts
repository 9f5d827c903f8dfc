export * from './modelFile';
export * from './npy';
export * from './inputFile';
export * from './session';
export * from './ortRuntime';
