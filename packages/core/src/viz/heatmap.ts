/**
 * Visualisation primitives: attribution maps from image attributions, a
 * diverging colour map, heatmaps over the input image, and a colour-bar
 * legend. Pure TypeScript on RGBA buffers (the layout of ImageData), so the
 * CLI writes them as PNG and a page puts them on a canvas.
 */
import { newImage, fillRect, drawText, textWidth, formatNumber, type RgbaImage } from './font';

export type { RgbaImage } from './font';

/** How signs are shown: 'all' keeps them (diverging colours), 'absolute' shows |attribution|, 'positive' drops the negative part. */
export type SignMode = 'all' | 'absolute' | 'positive';

export interface AttributionMap {
  width: number;
  height: number;
  /** One value per pixel, row-major. */
  values: Float32Array;
}

/**
 * Sums an image attribution over its channels: [C, H, W] (layout 'NCHW') or
 * [H, W, C] ('NHWC') data of one example into an H x W map.
 */
export function attributionMap(data: ArrayLike<number>, dims: number[], layout: 'NCHW' | 'NHWC' = 'NCHW', sign: SignMode = 'all'): AttributionMap {
  let c: number;
  let h: number;
  let w: number;
  if (dims.length === 2) [h, w, c] = [dims[0], dims[1], 1];
  else if (layout === 'NCHW') [c, h, w] = dims;
  else [h, w, c] = dims;
  const values = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < c; k++) {
        const v = layout === 'NCHW' || dims.length === 2 ? data[(k * h + y) * w + x] : data[(y * w + x) * c + k];
        s += sign === 'absolute' ? Math.abs(v) : v;
      }
      values[y * w + x] = sign === 'positive' ? Math.max(0, s) : s;
    }
  }
  return { width: w, height: h, values };
}

/**
 * Diverging colour map for t in [-1, 1]: blue (negative) through white to red
 * (positive); t in [0, 1] for unsigned maps runs white to red.
 */
export function divergingColor(t: number): [number, number, number] {
  const u = Math.max(-1, Math.min(1, t));
  if (u >= 0) return [255, Math.round(255 * (1 - u * 0.85)), Math.round(255 * (1 - u * 0.95))];
  const v = -u;
  return [Math.round(255 * (1 - v * 0.95)), Math.round(255 * (1 - v * 0.7)), 255];
}

export interface HeatmapOptions {
  /** Grey background (the input image), one value per pixel in [0, 1], same size as the map. */
  background?: ArrayLike<number>;
  /** Pixels per map cell (default: enough for at least 256 pixels across). */
  scale?: number;
  /** Colour range: values at +-range are fully coloured (default: max |value|, robust to outliers at the 99.5th percentile). */
  range?: number;
  /** Opacity of the strongest colour over the background (default 0.8); weaker attributions are more transparent. */
  alpha?: number;
  /** Draw a colour bar with its range (default true). */
  legend?: boolean;
  /** Lines written above the map (model, method, target, delta): a saved picture says what it shows. */
  title?: string[];
}

/** The colour range: the 99.5th percentile of |value|, so one extreme pixel does not wash the rest out. */
export function robustRange(values: ArrayLike<number>): number {
  const abs = Array.from(values, (v) => Math.abs(v)).sort((a, b) => a - b);
  const r = abs[Math.min(abs.length - 1, Math.floor(abs.length * 0.995))];
  return r > 0 ? r : abs[abs.length - 1] || 1;
}

/** Renders a map as a heatmap over an optional grey background, with a colour-bar legend on the right. */
export function renderHeatmap(map: AttributionMap, opts: HeatmapOptions = {}): RgbaImage {
  const scale = opts.scale ?? Math.max(1, Math.ceil(256 / Math.max(map.width, map.height)));
  const range = opts.range ?? robustRange(map.values);
  const alpha = opts.alpha ?? 0.8;
  // the colour of value / range t: without a background the diverging map itself; over an image
  // (grey level bg) the sign's colour with strength |t|, so unattributed pixels show the image
  const shade = (t: number, bg: number): [number, number, number] => {
    if (!opts.background) return divergingColor(t);
    const c = divergingColor(Math.sign(t));
    const a = alpha * Math.min(1, Math.abs(t));
    return [0, 1, 2].map((k) => Math.round(a * c[k] + (1 - a) * bg)) as [number, number, number];
  };
  const legend = opts.legend ?? true;
  const mw = map.width * scale;
  const mh = map.height * scale;
  const labelScale = 2;
  const labels = [formatNumber(range), '0', formatNumber(-range)];
  // values past the range are drawn at full colour: the legend says so, and at which percentile
  let peak = 0;
  for (const v of map.values) peak = Math.max(peak, Math.abs(v));
  const clipped = peak > range * (1 + 1e-6);
  const clipNote = opts.range === undefined ? ['CLIPPED', 'AT P99.5'] : ['CLIPPED'];
  const widest = (lines: string[]) => Math.max(0, ...lines.map((l) => textWidth(l, labelScale)));
  const legendWidth = legend ? Math.max(24 + 16 + widest(labels) + 8, clipped ? 16 + widest(clipNote) + 8 : 0) : 0;
  const titleLines = opts.title ?? [];
  const pad = legend || titleLines.length ? 8 : 0;
  const top = pad + titleLines.length * 14;
  const legendHeight = legend ? Math.max(mh, 144) + 8 + (clipped ? 6 + 12 * clipNote.length : 0) : 0;
  const width = Math.max(mw + legendWidth + pad, widest(titleLines) + 2 * pad);
  const img = newImage(width, top + Math.max(mh + pad, legendHeight));
  // capitals throughout: the font's lower-case e is the exponent's
  titleLines.forEach((line, k) => drawText(img, line.toUpperCase(), pad, pad + k * 14, labelScale));
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      const i = y * map.width + x;
      const bg = opts.background ? Math.round(255 * Math.max(0, Math.min(1, opts.background[i]))) : 255;
      fillRect(img, x * scale + pad, y * scale + top, scale, scale, shade(map.values[i] / range, bg));
    }
  }
  if (legend) {
    const bx = mw + pad + 16;
    const by = top;
    const bh = Math.max(mh, 144);
    // the bar is drawn the way the map is: over an image, over mid-grey, so 0 there is the image itself, not white
    for (let yy = 0; yy < bh; yy++) fillRect(img, bx, by + yy, 16, 1, shade(1 - (2 * yy) / (bh - 1), 128));
    fillRect(img, bx - 1, by, 1, bh, [0, 0, 0]);
    fillRect(img, bx + 16, by, 1, bh, [0, 0, 0]);
    fillRect(img, bx - 1, by - 1, 18, 1, [0, 0, 0]);
    fillRect(img, bx - 1, by + bh, 18, 1, [0, 0, 0]);
    const tx = bx + 22;
    drawText(img, labels[0], tx, by, labelScale);
    drawText(img, labels[1], tx, by + Math.round(bh / 2) - 5, labelScale);
    drawText(img, labels[2], tx, by + bh - 10, labelScale);
    if (clipped) clipNote.forEach((line, k) => drawText(img, line, bx, by + bh + 6 + k * 12, labelScale));
  }
  return img;
}

/** Colour per token for text attributions: background colour and the value it stands for. */
export function tokenColors(scores: ArrayLike<number>, range = robustRange(scores)): { rgb: [number, number, number]; value: number }[] {
  return Array.from(scores, (v) => ({ rgb: divergingColor(v / range), value: v }));
}
