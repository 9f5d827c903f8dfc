export * from './quadrature';
export * from './progress';
export * from './engine';
export * from './explainer';
export * from './integratedGradients';
export * from './gradientMethods';
export * from './dispatch';
