/**
 * A 3x5 bitmap font for the few characters a colour-bar label needs
 * (digits, sign, point, exponent), so legends can be drawn with no font
 * files and no canvas, the same in Node and in a browser.
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
};

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
    const g = GLYPHS[ch] ?? GLYPHS[' '];
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
