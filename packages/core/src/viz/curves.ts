/**
 * Line plots for the metrics' curves (deletion and insertion): a few
 * series over x in [0, 1], axes with their ranges, a legend; the bitmap
 * font, no canvas, the same in Node and browsers.
 */
import { newImage, fillRect, drawText, formatNumber, type RgbaImage } from './font';

export interface CurveSeries {
  label: string;
  xs: number[];
  ys: number[];
}

const COLOURS: [number, number, number][] = [
  [200, 40, 40],
  [40, 90, 200],
  [30, 150, 60],
  [200, 120, 20],
];

function line(img: RgbaImage, x0: number, y0: number, x1: number, y1: number, rgb: [number, number, number]): void {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let k = 0; k <= n; k++) fillRect(img, Math.round(x0 + ((x1 - x0) * k) / n) - 1, Math.round(y0 + ((y1 - y0) * k) / n) - 1, 2, 2, rgb);
}

/** The series on one set of axes (x: fraction of features changed, 0 to 1; y: the explained output). */
export function renderCurves(series: CurveSeries[], opts: { title?: string; width?: number; height?: number } = {}): RgbaImage {
  if (!series.length) throw new Error('no curve to draw');
  const width = opts.width ?? 420;
  const height = opts.height ?? 300;
  const img = newImage(width, height);
  const left = 60;
  const top = 30;
  const right = width - 16;
  const bottom = height - 40 - 14 * series.length;
  const ys = series.flatMap((s) => s.ys);
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const px = (x: number) => left + x * (right - left);
  const py = (y: number) => bottom - ((y - lo) / (hi - lo)) * (bottom - top);
  if (opts.title) drawText(img, opts.title.toUpperCase().slice(0, 48), 4, 6, 2);
  // axes and their ranges
  fillRect(img, left, top, 1, bottom - top, [0, 0, 0]);
  fillRect(img, left, bottom, right - left, 1, [0, 0, 0]);
  drawText(img, formatNumber(hi), 4, top, 2);
  drawText(img, formatNumber(lo), 4, bottom - 10, 2);
  drawText(img, '0', left, bottom + 6, 2);
  drawText(img, '1', right - 8, bottom + 6, 2);
  drawText(img, 'FRACTION CHANGED', left + 60, bottom + 6, 2);
  series.forEach((s, k) => {
    const rgb = COLOURS[k % COLOURS.length];
    for (let i = 1; i < s.xs.length; i++) line(img, px(s.xs[i - 1]), py(s.ys[i - 1]), px(s.xs[i]), py(s.ys[i]), rgb);
    fillRect(img, left, bottom + 24 + 14 * k, 16, 6, rgb);
    drawText(img, s.label.toUpperCase().slice(0, 40), left + 22, bottom + 22 + 14 * k, 2);
  });
  return img;
}
