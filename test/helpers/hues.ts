/**
 * The check that a drawn heatmap shows each clearly attributed cell (|v| at
 * least 20% of the largest) in its sign's hue: red for, blue against. The end
 * colours differ by 242 between red and blue and are laid 0.8 * |v| / max
 * opaque over the image, so half of that difference is the margin asked for.
 * Returns how many cells of each sign were checked.
 */
export function expectSignHues(attr: ArrayLike<number>, rgbOfCell: (i: number) => ArrayLike<number>): { pos: number; neg: number } {
  const values = Array.from(attr);
  const max = Math.max(...values.map(Math.abs));
  let pos = 0;
  let neg = 0;
  values.forEach((v, i) => {
    if (Math.abs(v) < 0.2 * max) return;
    const [red, , blue] = Array.from(rgbOfCell(i));
    const margin = 0.5 * 0.8 * 242 * (Math.abs(v) / max);
    if (v > 0) {
      expect(red - blue).toBeGreaterThan(margin);
      pos++;
    } else {
      expect(blue - red).toBeGreaterThan(margin);
      neg++;
    }
  });
  return { pos, neg };
}
