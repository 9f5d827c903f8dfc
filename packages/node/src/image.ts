/**
 * Images as model inputs (PNG, JPEG) with the usual preprocessing, and PNG
 * output for heatmaps. Decoding uses pure-JS codecs (pngjs, jpeg-js): no
 * native build, nothing downloaded.
 */
import { readFileExplained } from './readFile';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import type { RgbaImage } from '@onnx-explain/core';
import type { NdArray } from '@onnx-explain/core';

export interface ImagePreprocess {
  /** Target size [height, width] (bilinear); default: the image's own size. */
  size?: [number, number];
  layout?: 'NCHW' | 'NHWC';
  /** One channel (luminance) instead of three. */
  grayscale?: boolean;
  /** Pixel values are divided by this first (default 255, giving [0, 1]). */
  scale?: number;
  /** Per-channel mean and standard deviation, applied after scaling. */
  mean?: number[];
  std?: number[];
}

export interface LoadedImage {
  tensor: NdArray;
  /** The preprocessed image as grey values in [0, 1], [H, W], for drawing heatmaps over. */
  grey: Float32Array;
  width: number;
  height: number;
}

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export function isImageFile(file: string): boolean {
  return ['.png', '.jpg', '.jpeg'].includes(path.extname(file).toLowerCase());
}

async function decode(file: string): Promise<RgbaImage> {
  const buf = await readFileExplained(file, 'input image', (m) => new ImageError(m));
  try {
    if (path.extname(file).toLowerCase() === '.png') {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length) };
  } catch (e) {
    throw new ImageError(`input image '${file}' cannot be decoded: ${(e as Error).message}`);
  }
}

/** Bilinear sample of channel k at (x, y) in source pixel coordinates. */
function sample(img: RgbaImage, x: number, y: number, k: number): number {
  const x0 = Math.max(0, Math.min(img.width - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(img.height - 1, Math.floor(y)));
  const x1 = Math.min(img.width - 1, x0 + 1);
  const y1 = Math.min(img.height - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, x - x0));
  const fy = Math.max(0, Math.min(1, y - y0));
  const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 4 + k];
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
}

export async function loadImage(file: string, p: ImagePreprocess = {}): Promise<LoadedImage> {
  const img = await decode(file);
  const [h, w] = p.size ?? [img.height, img.width];
  const channels = p.grayscale ? 1 : 3;
  const scale = p.scale ?? 255;
  const mean = p.mean ?? Array(channels).fill(0);
  const std = p.std ?? Array(channels).fill(1);
  if (mean.length !== channels || std.length !== channels) {
    throw new ImageError(`--mean and --std need ${channels} value${channels > 1 ? 's' : ''} (one per channel), got ${mean.length} and ${std.length}`);
  }
  const data = new Float32Array(channels * h * w);
  const grey = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // half-pixel centres, as image libraries resize
      const sx = ((x + 0.5) * img.width) / w - 0.5;
      const sy = ((y + 0.5) * img.height) / h - 0.5;
      const rgb = [0, 1, 2].map((k) => sample(img, sx, sy, k));
      const lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
      grey[y * w + x] = lum / 255;
      for (let c = 0; c < channels; c++) {
        const v = ((p.grayscale ? lum : rgb[c]) / scale - mean[c]) / std[c];
        const idx = (p.layout ?? 'NCHW') === 'NCHW' ? (c * h + y) * w + x : (y * w + x) * channels + c;
        data[idx] = v;
      }
    }
  }
  const dims = (p.layout ?? 'NCHW') === 'NCHW' ? [1, channels, h, w] : [1, h, w, channels];
  return { tensor: { data, shape: dims, dtype: 'float32' }, grey, width: w, height: h };
}

export function encodePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}
