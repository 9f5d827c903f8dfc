/**
 * View helpers for a dashboard someone else builds: attribution heatmaps as
 * ImageData or on a canvas, and coloured tokens for text.
 */
import { renderHeatmap, attributionMap, tokenColors, robustRange, type AttributionMap, type HeatmapOptions, type RgbaImage } from '@onnx-explain/core';

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
  container.replaceChildren();
  const colors = tokenColors(Array.from(scores).slice(0, tokens.length), robustRange(Array.from(scores).slice(0, tokens.length)));
  tokens.forEach((tok, i) => {
    const span = document.createElement('span');
    span.className = 'token';
    span.textContent = tok;
    span.style.background = `rgb(${colors[i].rgb.join(',')})`;
    span.title = `${tok}: ${colors[i].value.toFixed(4)}`;
    container.append(span, ' ');
  });
}

export { attributionMap };
