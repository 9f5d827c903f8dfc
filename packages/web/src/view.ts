/**
 * View helpers for a dashboard someone else builds: attribution heatmaps as
 * ImageData or on a canvas, coloured tokens for text and a bar chart for
 * tabular features. Token strings and feature names are untrusted (they come
 * from a tokenizer, a model or a user): they are set as text, never as markup.
 */
import { renderHeatmap, attributionMap, tokenColors, robustRange, type AttributionMap, type HeatmapOptions, type RgbaImage } from '@onnx-explain/core';
import { h, replace } from './dom';

export function toImageData(img: RgbaImage): ImageData {
  return new ImageData(new Uint8ClampedArray(img.data), img.width, img.height);
}

/** Draws a heatmap (with its colour legend) on a canvas, resizing the canvas to fit. */
export function drawHeatmap(canvas: HTMLCanvasElement, map: AttributionMap, opts: HeatmapOptions = {}): RgbaImage {
  const img = renderHeatmap(map, opts);
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(toImageData(img), 0, 0);
  return img;
}

/** Token spans coloured by attribution (red for, blue against), with the score in the title. */
export function renderTokens(container: HTMLElement, tokens: string[], scores: ArrayLike<number>): void {
  const values = Array.from(scores).slice(0, tokens.length);
  const colors = tokenColors(values, robustRange(values));
  const spans = tokens.map((tok, i) => [
    h('span', { className: 'token', title: `${tok}: ${colors[i].value.toFixed(4)}`, style: { background: `rgb(${colors[i].rgb.join(',')})` } }, tok),
    ' ',
  ]);
  replace(container, ...spans.flat());
}

/**
 * A bar chart of feature attributions: the `top` largest by magnitude, each
 * row a name (`names[i]`, else "feature i"), a bar to the right of the axis
 * for a positive value and to the left for a negative one, and the value.
 * Rows are three grid cells each (name, bar track, number); style them with
 * the classes bars, bar-track, axis, bar pos/neg and num.
 */
export function renderFeatureBars(container: HTMLElement, values: ArrayLike<number>, names?: readonly string[], top = 15): void {
  const order = Array.from(values, (v, i) => ({ v, i }))
    .sort((a, b) => Math.abs(b.v) - Math.abs(a.v))
    .slice(0, top);
  const max = Math.max(...order.map((o) => Math.abs(o.v)), 1e-12);
  container.classList.add('bars');
  const rows = order.map(({ v, i }) => {
    const pct = (50 * Math.abs(v)) / max;
    const bar = h('div', { className: `bar ${v >= 0 ? 'pos' : 'neg'}`, style: { left: `${v >= 0 ? 50 : 50 - pct}%`, width: `${pct}%` } });
    return [h('div', {}, names?.[i] ?? `feature ${i}`), h('div', { className: 'bar-track' }, h('div', { className: 'axis' }), bar), h('div', { className: 'num' }, v.toFixed(4))];
  });
  replace(container, ...rows.flat());
}

export { attributionMap };
