export * from './builder';
export * from './emitter';
export * from './registry';
export * from './shapes';
export * from './coverage';
export * from './batch';
export { lowerModel, needsLowering, findLowering, loweredOpTypes, describeLowered, type LoweredModel } from './lower/index';
export { registerLowering, type Lowering, type LowerContext } from './lower/registry';
export { lowerAndCheck, outputDifferences, LOWERING_TOLERANCE, type CheckedLowering } from './lower/check';
