/**
 * The legend's drawing primitives, pixel by pixel against closed forms: the
 * glyph bitmaps as the font's comment defines them (3x5, '1' = ink), a
 * rectangle clipped to the image, and the label format (3 significant digits,
 * exponent form at 1e4 and above or under 1e-2).
 */
import { newImage, fillRect, drawText, formatNumber, type RgbaImage } from '@onnx-explain/core';
import { textWidth } from '../../packages/core/src/viz/font';

const px = (img: RgbaImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
/** The set of pixels that are not the background colour, as 'x,y' strings. */
function inked(img: RgbaImage, bg = [255, 255, 255, 255]): Set<string> {
  const out = new Set<string>();
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (px(img, x, y).some((v, k) => v !== bg[k])) out.add(`${x},${y}`);
  return out;
}
/** Where a bitmap (rows of '0'/'1') puts ink at (x0, y0) and the given scale. */
function bitmapPixels(rows: string[], x0: number, y0: number, scale: number): Set<string> {
  const out = new Set<string>();
  rows.forEach((row, r) => {
    for (let c = 0; c < row.length; c++) {
      if (row[c] !== '1') continue;
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) out.add(`${x0 + c * scale + dx},${y0 + r * scale + dy}`);
    }
  });
  return out;
}

describe('newImage and fillRect', () => {
  test('a new image is opaque white, or the colour asked for', () => {
    const img = newImage(3, 2);
    expect([img.width, img.height, img.data.length]).toEqual([3, 2, 24]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expect(px(img, x, y)).toEqual([255, 255, 255, 255]);
    const red = newImage(2, 2, [200, 10, 20]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) expect(px(red, x, y)).toEqual([200, 10, 20, 255]);
  });

  test('a rectangle fills exactly its pixels, opaque', () => {
    const img = newImage(6, 5, [0, 0, 0]);
    fillRect(img, 1, 2, 3, 2, [9, 8, 7]);
    const want = new Set(['1,2', '2,2', '3,2', '1,3', '2,3', '3,3']);
    expect(inked(img, [0, 0, 0, 255])).toEqual(want);
    expect(px(img, 3, 3)).toEqual([9, 8, 7, 255]);
  });

  test.each([
    ['past the left and top edges', -2, -1, 4, 3, ['0,0', '1,0', '0,1', '1,1']],
    ['past the right and bottom edges', 3, 2, 5, 5, ['3,2', '3,3']],
    ['wholly outside', 4, 0, 2, 2, []],
    ['empty', 1, 1, 0, 3, []],
  ])('clipped to the image: %s', (_, x, y, w, h, want) => {
    const img = newImage(4, 4);
    fillRect(img, x as number, y as number, w as number, h as number, [0, 0, 0]);
    expect(inked(img)).toEqual(new Set(want as string[]));
  });
});

describe('drawText', () => {
  const ONE = ['010', '110', '010', '010', '111'];
  const MINUS = ['000', '000', '111', '000', '000'];
  const ZERO = ['111', '101', '101', '101', '111'];

  test("'1' at scale 1 inks its bitmap, in the colour asked for, and advances 4 pixels", () => {
    const img = newImage(8, 8);
    expect(drawText(img, '1', 2, 1, 1, [10, 20, 30])).toBe(4);
    expect(inked(img)).toEqual(bitmapPixels(ONE, 2, 1, 1));
    expect(px(img, 3, 1)).toEqual([10, 20, 30, 255]);
  });

  test("'-10' at scale 2: three glyphs, each 8 pixels after the last, black by default", () => {
    const img = newImage(30, 12);
    expect(drawText(img, '-10', 1, 1, 2)).toBe(24);
    const want = new Set([...bitmapPixels(MINUS, 1, 1, 2), ...bitmapPixels(ONE, 9, 1, 2), ...bitmapPixels(ZERO, 17, 1, 2)]);
    expect(inked(img)).toEqual(want);
    expect(px(img, 1, 5)).toEqual([0, 0, 0, 255]);
  });

  test('the default scale is 2', () => {
    const a = newImage(10, 12);
    const b = newImage(10, 12);
    drawText(a, '1', 0, 0);
    drawText(b, '1', 0, 0, 2);
    expect(inked(a)).toEqual(inked(b));
    expect(inked(a)).toEqual(bitmapPixels(ONE, 0, 0, 2));
  });

  test('a character the font lacks is drawn as a space: no ink, still advances', () => {
    const img = newImage(12, 6);
    expect(drawText(img, '~1', 0, 0, 1)).toBe(8);
    expect(inked(img)).toEqual(bitmapPixels(ONE, 4, 0, 1));
  });

  test('titles: every capital has a bitmap of its own, lower case is drawn as capitals, the exponent keeps its e', () => {
    const draw = (t: string) => {
      const img = newImage(4, 6);
      drawText(img, t, 0, 0, 1);
      return [...inked(img)].sort().join(' ');
    };
    const capitals = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
    const bitmaps = capitals.map(draw);
    expect(new Set(bitmaps).size).toBe(26);
    expect(bitmaps.every((b) => b !== '')).toBe(true);
    capitals.filter((c) => c !== 'E').forEach((c) => expect(draw(c.toLowerCase())).toBe(bitmaps[capitals.indexOf(c)]));
    expect(draw('e')).not.toBe(draw('E'));
    for (const p of [':', ',', '(', ')', '[', ']', '_', '/', '=', '%', '?', "'"]) expect(draw(p)).not.toBe('');
  });

  test('textWidth is what drawText advances', () => {
    for (const [s, scale] of [['0', 1], ['-1.5e3', 2], ['', 3]] as const) {
      const img = newImage(60, 20);
      expect(textWidth(s, scale)).toBe(drawText(img, s, 0, 0, scale));
    }
    expect(textWidth('123')).toBe(24);
  });
});

describe('formatNumber', () => {
  test.each([
    [0, '0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [0.12345, '0.123'],
    [123.456, '123'],
    [1234, '1230'],
    [9999, '10000'],
    [1e4, '1.0e4'],
    [-52000, '-5.2e4'],
    [0.01, '0.01'],
    [0.0099, '9.9e-3'],
    [-2.5e-7, '-2.5e-7'],
  ])('%p -> %s', (v, s) => {
    expect(formatNumber(v)).toBe(s);
  });
});
