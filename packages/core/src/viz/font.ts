/**
 * A 3x5 bitmap font for colour-bar labels (digits, sign, point, exponent)
 * and heatmap titles (capital letters and a little punctuation; lower case
 * is drawn as capitals, except the exponent's 'e'), so pictures carry their
 * own words with no font files and no canvas, the same in Node and in a
 * browser.
 */
const GLYPHS: Record<string, string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '010', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
  '-': ['000', '000', '111', '000', '000'],
  '+': ['000', '010', '111', '010', '000'],
  '.': ['000', '000', '000', '000', '010'],
  e: ['000', '111', '111', '100', '111'],
  ' ': ['000', '000', '000', '000', '000'],
  A: ['010', '101', '111', '101', '101'],
  B: ['110', '101', '110', '101', '110'],
  C: ['011', '100', '100', '100', '011'],
  D: ['110', '101', '101', '101', '110'],
  E: ['111', '100', '110', '100', '111'],
  F: ['111', '100', '110', '100', '100'],
  G: ['011', '100', '101', '101', '011'],
  H: ['101', '101', '111', '101', '101'],
  I: ['111', '010', '010', '010', '111'],
  J: ['001', '001', '001', '101', '010'],
  K: ['101', '101', '110', '101', '101'],
  L: ['100', '100', '100', '100', '111'],
  M: ['101', '111', '111', '101', '101'],
  N: ['110', '101', '101', '101', '101'],
  O: ['010', '101', '101', '101', '010'],
  P: ['110', '101', '110', '100', '100'],
  Q: ['010', '101', '101', '110', '011'],
  R: ['110', '101', '110', '101', '101'],
  S: ['011', '100', '010', '001', '110'],
  T: ['111', '010', '010', '010', '010'],
  U: ['101', '101', '101', '101', '111'],
  V: ['101', '101', '101', '101', '010'],
  W: ['101', '101', '111', '111', '101'],
  X: ['101', '101', '010', '101', '101'],
  Y: ['101', '101', '010', '010', '010'],
  Z: ['111', '001', '010', '100', '111'],
  ':': ['000', '010', '000', '010', '000'],
  ',': ['000', '000', '000', '010', '100'],
  '(': ['001', '010', '010', '010', '001'],
  ')': ['100', '010', '010', '010', '100'],
  '[': ['011', '010', '010', '010', '011'],
  ']': ['110', '010', '010', '010', '110'],
  '_': ['000', '000', '000', '000', '111'],
  '/': ['001', '001', '010', '100', '100'],
  '=': ['000', '111', '000', '111', '000'],
  '%': ['101', '001', '010', '100', '101'],
  '?': ['111', '001', '010', '000', '010'],
  "'": ['010', '010', '000', '000', '000'],
};

/** The glyph drawn for a character: its own, else its capital's, else a blank. */
function glyph(ch: string): string[] {
  return GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS[' '];
}

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major, like ImageData.data. */
  data: Uint8ClampedArray;
}

export function newImage(width: number, height: number, rgb: [number, number, number] = [255, 255, 255]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  return { width, height, data };
}

export function fillRect(img: RgbaImage, x: number, y: number, w: number, h: number, rgb: [number, number, number]): void {
  for (let yy = Math.max(0, y); yy < Math.min(img.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(img.width, x + w); xx++) img.data.set([rgb[0], rgb[1], rgb[2], 255], (yy * img.width + xx) * 4);
  }
}

/** Draws text with the 3x5 font at an integer scale; returns the width drawn. */
export function drawText(img: RgbaImage, text: string, x: number, y: number, scale = 2, rgb: [number, number, number] = [0, 0, 0]): number {
  let cx = x;
  for (const ch of text) {
    const g = glyph(ch);
    g.forEach((rowBits, r) => {
      for (let c = 0; c < 3; c++) if (rowBits[c] === '1') fillRect(img, cx + c * scale, y + r * scale, scale, scale, rgb);
    });
    cx += 4 * scale;
  }
  return cx - x;
}

export function textWidth(text: string, scale = 2): number {
  return text.length * 4 * scale;
}

/** A compact label for a number: 3 significant digits, exponent form when far from 1. */
export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) return v.toExponential(1).replace('e+', 'e');
  return Number(v.toPrecision(3)).toString();
}
