export * from './agreement';
export * from './infidelity';
export * from './sensitivity';
export * from './deletion';
export * from './sanity';
export * from './completeness';
export * from './road';
export * from './blur';
