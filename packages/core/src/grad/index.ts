export * from './builder';
export * from './emitter';
export * from './registry';
export * from './shapes';
export * from './coverage';
export * from './batch';
