/**
 * Views of token attributions: tokens coloured by score for a terminal
 * (24-bit ANSI backgrounds with a legend), a self-contained HTML page, and
 * a generation matrix as a picture. Tokens come from tokenizers and models,
 * so they are data: control characters are escaped for the terminal, and
 * every token is HTML-escaped in the page (a token '<script>' reads as
 * that text).
 */
import { divergingColor, robustRange } from './heatmap';
import { newImage, fillRect, drawText, textWidth, formatNumber, type RgbaImage } from './font';

/**
 * A string as a terminal should show it: control characters (escape
 * sequences that recolour, move the cursor or retitle the window, carriage
 * returns that overwrite a line) written as \\u escapes instead.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The scale colours are drawn on: the largest |score| (robustRange's), never 0. */
function scaleOf(scores: ArrayLike<number>, range?: number): number {
  const r = range ?? robustRange(scores);
  return r > 0 && Number.isFinite(r) ? r : 1;
}

const ansiBg = ([r, g, b]: [number, number, number]) => `\x1b[48;2;${r};${g};${b}m\x1b[38;2;0;0;0m`;
const ANSI_RESET = '\x1b[0m';

/**
 * Tokens on their background colours, red for positive scores, blue for
 * negative, white for none. `joiner` goes between tokens (' ' for WordPiece;
 * '' for byte-level BPE, whose tokens carry their own spaces).
 */
export function ansiTokens(tokens: string[], scores: ArrayLike<number>, opts: { range?: number; joiner?: string } = {}): string {
  const range = scaleOf(scores, opts.range);
  return tokens.map((t, i) => `${ansiBg(divergingColor(scores[i] / range))}${printable(t)}${ANSI_RESET}`).join(opts.joiner ?? ' ');
}

/** The colour scale as a line: five swatches from -range to +range with their values. */
export function ansiLegend(range: number): string {
  const stops = [-1, -0.5, 0, 0.5, 1];
  return `legend  ${stops.map((s) => `${ansiBg(divergingColor(s))} ${s === 0 ? '0' : formatNumber(s * range)} ${ANSI_RESET}`).join(' ')}`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const css = ([r, g, b]: [number, number, number]) => `rgb(${r},${g},${b})`;

export interface HtmlTokenRow {
  heading: string;
  tokens: string[];
  scores: number[];
  /** A line under the tokens (the target, the delta). */
  note?: string;
}

export interface HtmlMatrix {
  rowLabels: string[];
  columnLabels: string[];
  values: (number | null)[][];
}

/** Visible spaces and line breaks in a token, so ' paris' and 'paris' differ on the page. */
const showToken = (t: string) => escapeHtml(t).replace(/ /g, '&#x2423;').replace(/\n/g, '&#x21b5;');

/**
 * A self-contained HTML page (no scripts, no external resources): each row
 * of tokens coloured by score with the score in its title, and optionally
 * the generation matrix as a table. One colour scale for the whole page.
 */
export function tokensHtml(title: string, rows: HtmlTokenRow[], matrix?: HtmlMatrix): string {
  const all = [...rows.flatMap((r) => r.scores), ...(matrix?.values.flat().filter((v): v is number => v !== null) ?? [])];
  const range = scaleOf(all);
  const cell = (v: number) => `background:${css(divergingColor(v / range))}`;
  const tokenSpans = (r: HtmlTokenRow) =>
    r.tokens.map((t, i) => `<span class="tok" style="${cell(r.scores[i])}" title="${escapeHtml(formatNumber(r.scores[i]))}">${showToken(t)}</span>`).join('');
  const parts = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    // no script may run, whatever a token says: the page forbids all of it
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111}.tok{display:inline-block;padding:2px 3px;margin:1px;border-radius:3px;font-family:ui-monospace,monospace;white-space:pre}' +
      'table{border-collapse:collapse;margin-top:12px}td,th{border:1px solid #ddd;padding:3px 5px;font:12px ui-monospace,monospace;white-space:pre}th{background:#f6f6f6}.legend span{display:inline-block;padding:2px 8px}</style>',
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="legend">${[-1, -0.5, 0, 0.5, 1].map((s) => `<span style="${cell(s * range)}">${escapeHtml(s === 0 ? '0' : formatNumber(s * range))}</span>`).join('')} (red raises the explained score, blue lowers it)</p>`,
    ...rows.map((r) => `<h2>${escapeHtml(r.heading)}</h2><div>${tokenSpans(r)}</div>${r.note ? `<p>${escapeHtml(r.note)}</p>` : ''}`),
  ];
  if (matrix) {
    parts.push(
      '<h2>Generation matrix (rows: generated tokens; columns: the tokens before them)</h2><table>',
      `<tr><th></th>${matrix.columnLabels.map((c) => `<th>${showToken(c)}</th>`).join('')}</tr>`,
      ...matrix.values.map(
        (row, i) =>
          `<tr><th>${showToken(matrix.rowLabels[i])}</th>${row.map((v) => (v === null ? '<td></td>' : `<td style="${cell(v)}" title="${escapeHtml(formatNumber(v))}">${escapeHtml(v.toFixed(3))}</td>`)).join('')}</tr>`,
      ),
      '</table>',
    );
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

/** A label the bitmap font can draw: capitals and digits; other characters as '?'. */
function drawable(s: string, max = 10): string {
  const t = s.replace(/^\s+/, '_').toUpperCase().replace(/[^A-Z0-9 .+\-_#]/g, '?');
  return t.length > max ? `${t.slice(0, max - 1)}.` : t;
}

/**
 * The generation matrix as a picture: a cell per (generated token, earlier
 * token), coloured by score on one diverging scale, labels along both axes
 * (the bitmap font's capitals; a leading space drawn as '_'), and the scale.
 */
export function renderMatrix(matrix: HtmlMatrix, opts: { cell?: number; title?: string } = {}): RgbaImage {
  const cell = opts.cell ?? 22;
  const scale = 2;
  const labelW = Math.max(...matrix.rowLabels.map((l) => textWidth(drawable(l), scale))) + 10;
  const labelH = Math.max(...matrix.columnLabels.map((l) => textWidth(drawable(l), scale))) + 10;
  const cols = matrix.columnLabels.length;
  const rows = matrix.rowLabels.length;
  const top = (opts.title ? 20 : 4) + labelH;
  const width = labelW + cols * cell + 90;
  const height = Math.max(top + rows * cell + 10, top + 120);
  const img = newImage(width, height);
  if (opts.title) drawText(img, drawable(opts.title, 60), 4, 4, scale);
  const values = matrix.values.flat().filter((v): v is number => v !== null);
  const range = scaleOf(values);
  // column labels written downwards, one character per line, so long tokens fit over narrow cells
  matrix.columnLabels.forEach((l, j) => {
    const text = drawable(l);
    for (let k = 0; k < text.length; k++) drawText(img, text[k], labelW + j * cell + cell / 2 - 3, top - labelH + 4 + k * 12, scale);
  });
  matrix.rowLabels.forEach((l, i) => drawText(img, drawable(l), 4, top + i * cell + cell / 2 - 5, scale));
  matrix.values.forEach((row, i) =>
    row.forEach((v, j) => {
      const x = labelW + j * cell;
      const y = top + i * cell;
      fillRect(img, x, y, cell, cell, v === null ? [238, 238, 238] : divergingColor(v / range));
      fillRect(img, x, y, cell, 1, [200, 200, 200]);
      fillRect(img, x, y, 1, cell, [200, 200, 200]);
    }),
  );
  // the scale: a bar from +range (top) to -range with its ends labelled
  const bx = labelW + cols * cell + 16;
  const bh = 100;
  for (let k = 0; k < bh; k++) fillRect(img, bx, top + k, 14, 1, divergingColor(1 - (2 * k) / (bh - 1)));
  drawText(img, formatNumber(range), bx + 18, top, scale);
  drawText(img, formatNumber(-range), bx + 18, top + bh - 10, scale);
  return img;
}
