/**
 * Heatmap colours pixel by pixel, against the colour scale the README and the
 * dashboard's caption promise: positive attributions red, negative blue, zero
 * white (or the image itself underneath), values past the range clipped to
 * the end colours, and a legend whose top is the positive end, whose bottom is
 * the negative end and whose white row sits at its '0' label. The expected
 * colours are written out as numbers here: the end colours of the scale
 * (255, 38, 13) and (13, 77, 255), and their blends over a grey pixel.
 * Then the CLI's PNG: every cell of a real explanation has the hue of its
 * attribution's sign.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { renderHeatmap, attributionMap, divergingColor, robustRange, tokenColors, type RgbaImage } from '@onnx-explain/core';
import { repoRoot, tmpDir } from '../helpers/ort';
import { parseNpy } from '@onnx-explain/node';
import { expectSignHues } from '../helpers/hues';

const RED = [255, 38, 13];
const BLUE = [13, 77, 255];
const WHITE = [255, 255, 255];
const px = (img: RgbaImage | PNG, x: number, y: number) => Array.from(img.data.slice((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));

test('the ends and the middle of the colour scale', () => {
  expect(divergingColor(1)).toEqual(RED);
  expect(divergingColor(-1)).toEqual(BLUE);
  expect(divergingColor(0)).toEqual(WHITE);
  expect(divergingColor(7)).toEqual(RED); // clipped
  expect(divergingColor(-7)).toEqual(BLUE);
  expect(divergingColor(0.5)).toEqual([255, 147, 134]); // half way to red: 255 * (1 - 0.425), 255 * (1 - 0.475)
  expect(divergingColor(-0.5)).toEqual([134, 166, 255]);
});

describe('a 3x2 map, range 2, 4 pixels a cell', () => {
  // values: full positive, full negative, zero / clipped positive, clipped negative, half negative
  const map = { width: 3, height: 2, values: Float32Array.from([2, -2, 0, 5, -9, -1]) };
  const cell = (img: RgbaImage, x: number, y: number) => px(img, 8 + x * 4 + 1, 8 + y * 4 + 2); // pad 8, scale 4

  test('without a background: sign to hue, zero to white, clipping at the range', () => {
    const img = renderHeatmap(map, { range: 2, scale: 4 });
    expect(cell(img, 0, 0)).toEqual(RED);
    expect(cell(img, 1, 0)).toEqual(BLUE);
    expect(cell(img, 2, 0)).toEqual(WHITE);
    expect(cell(img, 0, 1)).toEqual(RED);
    expect(cell(img, 1, 1)).toEqual(BLUE);
    expect(cell(img, 2, 1)).toEqual([134, 166, 255]);
    // every pixel of a cell has the cell's colour
    for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) expect(px(img, 8 + 4 + dx, 8 + dy)).toEqual(BLUE);
  });

  test('over a grey image: the end colour of the sign, 0.8 opaque at full strength, fading to the image at zero', () => {
    const background = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const img = renderHeatmap(map, { range: 2, scale: 4, background });
    // 0.8 * end + 0.2 * 128
    expect(cell(img, 0, 0)).toEqual([230, 56, 36]);
    expect(cell(img, 1, 0)).toEqual([36, 87, 230]);
    expect(cell(img, 2, 0)).toEqual([128, 128, 128]);
    expect(cell(img, 1, 1)).toEqual([36, 87, 230]);
    // half strength: 0.4 * end + 0.6 * 128
    expect(cell(img, 2, 1)).toEqual([82, 108, 179]);
  });

  test('the legend: red at the top, blue at the bottom, white at its 0 label', () => {
    const img = renderHeatmap(map, { range: 2, scale: 4 });
    const bx = 3 * 4 + 8 + 16 + 8; // right of the map, inside the bar's left border
    const top = 8;
    const bh = 144; // at least 144 pixels tall
    expect(px(img, bx, top)).toEqual(RED);
    expect(px(img, bx, top + bh - 1)).toEqual(BLUE);
    // the rows around the middle are the whitest; the '0' label is drawn centred on them
    const mid = top + Math.round(bh / 2);
    for (const y of [mid - 1, mid]) px(img, bx, y).forEach((v) => expect(v).toBeGreaterThanOrEqual(251));
    // the label: dark pixels right of the bar within 5 rows of the middle, none of the '0' glyph far from it
    const dark = (y: number) => Array.from({ length: 20 }, (_, i) => px(img, bx + 14 + i, y)).some((p) => p[0] < 100);
    expect(dark(mid)).toBe(true);
    expect(dark(mid - 20)).toBe(false);
  });

  test('over an image the legend is drawn as the map is: the end colours 0.8 over mid-grey, grey (the image) at 0', () => {
    const background = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const img = renderHeatmap(map, { range: 2, scale: 4, background });
    const bx = 3 * 4 + 8 + 16 + 8;
    const top = 8;
    const bh = 144;
    // the same blends the cells above get at full strength
    expect(px(img, bx, top)).toEqual([230, 56, 36]);
    expect(px(img, bx, top + bh - 1)).toEqual([36, 87, 230]);
    const mid = top + Math.round(bh / 2);
    for (const v of px(img, bx, mid).slice(0, 3)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(4);
  });
});

test('attributionMap sums channels (NCHW and NHWC) and keeps signs', () => {
  const nchw = attributionMap([1, -2, 3, 4, /* second channel */ 10, 20, -30, 40], [2, 2, 2]);
  expect(Array.from(nchw.values)).toEqual([11, 18, -27, 44]);
  const nhwc = attributionMap([1, 10, -2, 20, 3, -30, 4, 40], [2, 2, 2], 'NHWC');
  expect(Array.from(nhwc.values)).toEqual([11, 18, -27, 44]);
  expect(Array.from(attributionMap([1, -2, 3, -4], [1, 2, 2], 'NCHW', 'absolute').values)).toEqual([1, 2, 3, 4]);
  expect(Array.from(attributionMap([1, -2, 3, -4], [1, 2, 2], 'NCHW', 'positive').values)).toEqual([1, 0, 3, 0]);
});

test("the CLI's PNG: every clearly attributed cell has its sign's hue, over the digit", () => {
  const dir = tmpDir();
  const [png, npy] = [path.join(dir, 'h.png'), path.join(dir, 'a.npy')];
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'packages/node/bin/onnx-explain.js'), 'attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--target', '5', '--steps', '200', '--heatmap', png, '--npy', npy, '--quiet', '--device', 'cpu'], { cwd: repoRoot, encoding: 'utf8' });
  // at 50 steps this target's completeness gap is 26% of its output change, and the CLI says so; 200 steps bring it to 3%
  expect(r.stderr).toBe('');
  const attr = parseNpy(fs.readFileSync(npy)).data as Float32Array;
  const img = PNG.sync.read(fs.readFileSync(png));
  // 8x8 drawn at 32 pixels a cell, 8 pixels in, under the title's four lines (model, method, target, delta) of 14 pixels
  const top = 8 + 4 * 14;
  const { pos, neg } = expectSignHues(attr, (i) => px(img, 8 + (i % 8) * 32 + 16, top + Math.floor(i / 8) * 32 + 16));
  // the check covered both signs
  expect(pos).toBeGreaterThan(2);
  expect(neg).toBeGreaterThan(2);
});

describe('layout of the rendered image', () => {
  // labels '2', '0', '-2' at 2x: 4 pixels a character at scale 1, so '-2' is 16 pixels wide
  const map = { width: 3, height: 2, values: Float32Array.from([2, -2, 0, 1, -1, 0.5]) };

  test('size: the map, a legend 24 + 16 + widest label + 8 wide, and 8 pixels of padding', () => {
    const img = renderHeatmap(map, { range: 2, scale: 4 });
    expect(img.width).toBe(3 * 4 + (24 + 16 + 16 + 8) + 8);
    expect(img.height).toBe(160); // at least 160 tall with a legend
    const bigger = renderHeatmap(map, { range: 2, scale: 80 });
    expect([bigger.width, bigger.height]).toEqual([240 + 64 + 8, 160 + 16]);
    // without a legend: the map alone, no padding
    const bare = renderHeatmap(map, { range: 2, scale: 4, legend: false });
    expect([bare.width, bare.height]).toEqual([12, 8]);
  });

  test('the default scale fits the longer side to at least 256 pixels', () => {
    const tall = { width: 2, height: 8, values: new Float32Array(16) };
    expect(renderHeatmap(tall, { legend: false }).height).toBe(256);
    expect(renderHeatmap(tall, { legend: false }).width).toBe(64);
  });

  test('nothing is drawn outside the map: the gap before the legend and the rows below stay white', () => {
    const img = renderHeatmap(map, { range: 2, scale: 4 });
    for (let y = 0; y < img.height; y++) expect(px(img, 8 + 12 + 2, y)).toEqual(WHITE); // between the map and the bar
    for (let x = 0; x < 8 + 12 + 8; x++) expect(px(img, x, 8 + 8 + 1)).toEqual(WHITE); // below the map
  });

  test('the colour bar has a black frame', () => {
    const img = renderHeatmap(map, { range: 2, scale: 4 });
    const bx = 8 + 12 + 16;
    const BLACK = [0, 0, 0];
    expect(px(img, bx - 1, 50)).toEqual(BLACK);
    expect(px(img, bx + 16, 50)).toEqual(BLACK);
    expect(px(img, bx + 5, 8 - 1)).toEqual(BLACK);
    expect(px(img, bx + 5, 8 + 144)).toEqual(BLACK);
    expect(px(img, bx + 17, 50)).toEqual(WHITE);
    expect(px(img, bx + 5, 8 + 145)).toEqual(WHITE);
  });

  test('labels: +range at the top, 0 in the middle, -range at the bottom', () => {
    const img = renderHeatmap(map, { range: 2, scale: 4 });
    const tx = 8 + 12 + 16 + 22;
    const darkIn = (y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = tx; x < tx + 16; x++) if (px(img, x, y)[0] < 100) n++;
      return n;
    };
    expect(darkIn(8, 18)).toBeGreaterThan(0); // '2'
    expect(darkIn(8 + 144 - 10, 8 + 144)).toBeGreaterThan(darkIn(8, 18)); // '-2' has the minus too
    expect(darkIn(20, 60)).toBe(0);
  });
});

describe('what a saved picture says of itself', () => {
  const flat = { width: 2, height: 2, values: Float32Array.from([1, -1, 0.5, 0]) };
  test('title lines go above the map, which moves down 14 pixels a line; the image is wide enough for them', () => {
    const plain = renderHeatmap(flat, { range: 1, scale: 4 });
    const titled = renderHeatmap(flat, { range: 1, scale: 4, title: ['DIGITS_CNN.ONNX: INTEGRATED-GRADIENTS', 'CLASS 3'] });
    expect(titled.height).toBe(plain.height + 28);
    expect(titled.width).toBe(8 + 37 * 8 + 8);
    // the map's first cell, red, 28 pixels lower than without a title
    expect(px(plain, 9, 9)).toEqual(RED);
    expect(px(titled, 9, 9 + 28)).toEqual(RED);
    // ink in the title band, none in the plain picture's
    let ink = 0;
    for (let y = 8; y < 8 + 10; y++) for (let x = 8; x < 40; x++) if (px(titled, x, y)[0] === 0) ink++;
    expect(ink).toBeGreaterThan(20);
  });

  test('values past the range are drawn at full colour and the legend says CLIPPED, at P99.5 when the range is the default', () => {
    const unclipped = renderHeatmap(flat, { range: 1, scale: 4 });
    const clipped = renderHeatmap(flat, { range: 0.5, scale: 4 });
    expect(clipped.height).toBe(unclipped.height + 6 + 12);
    const values = Float32Array.from({ length: 400 }, (_, i) => (i === 7 ? 100 : (i % 7) - 3));
    const robust = renderHeatmap({ width: 20, height: 20, values }, { scale: 4 });
    const exact = renderHeatmap({ width: 20, height: 20, values }, { scale: 4, range: 100 });
    expect(robust.height).toBe(exact.height + 6 + 24);
  });
});

test('robustRange: the 99.5th percentile of |values|, ignoring a few outliers', () => {
  const values = [...Array.from({ length: 996 }, (_, i) => (i % 2 ? -(i + 1) : i + 1)), 1e6, -1e6, 1e6, 1e6];
  expect(robustRange(values)).toBe(996);
  expect(robustRange([3, -5, 1])).toBe(5);
  // a percentile of 0 with something larger: the largest
  expect(robustRange([...new Array(996).fill(0), 0, 0, 0, 7])).toBe(7);
  expect(robustRange([0, 0])).toBe(1);
  expect(robustRange([])).toBe(1);
});

test('tokenColors: colour of value / range, and the value', () => {
  expect(tokenColors([1, -2, 0], 2)).toEqual([
    { rgb: [255, 147, 134], value: 1 },
    { rgb: BLUE, value: -2 },
    { rgb: WHITE, value: 0 },
  ]);
});

test('attributionMap: 2-D maps, and NHWC with unequal sides', () => {
  expect(Array.from(attributionMap([1, -2, 3, 4, 5, 6], [2, 3]).values)).toEqual([1, -2, 3, 4, 5, 6]);
  expect(attributionMap([1, -2, 3, 4, 5, 6], [2, 3])).toMatchObject({ width: 3, height: 2 });
  // h = 2, w = 3, c = 2, channels last
  const nhwc = attributionMap([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60], [2, 3, 2], 'NHWC');
  expect([nhwc.width, nhwc.height, ...nhwc.values]).toEqual([3, 2, 11, 22, 33, 44, 55, 66]);
});
