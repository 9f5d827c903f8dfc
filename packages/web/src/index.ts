/**
 * @onnx-explain/web: the onnxruntime-web runner for core's methods, model
 * loading in a page, view helpers (heatmaps, token colours, feature bars) and
 * the Content-Security-Policy the dashboard is served with.
 */
export * from './ortWebRuntime';
export * from './view';
export * from './loadModel';
export { h, append, replace, type Child, type Props } from './dom';
export * from './csp';
