export * from './heatmap';
export { drawText, formatNumber, newImage, fillRect } from './font';
export * from './tokens';
export * from './curves';
