export * from './forest';
export * from './readForest';
export * from './evaluate';
export * from './shapley';
export * from './locate';
