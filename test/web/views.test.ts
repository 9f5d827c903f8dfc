/**
 * @jest-environment ./test/helpers/jsdom-environment.js
 *
 * The views other dashboards embed (renderTokens, renderFeatureBars) and the
 * dom helper under them, given hostile strings: every string is a text node,
 * shown exactly as given, and nothing becomes an element, an attribute or a
 * handler. Colours and bar geometry are checked against their definitions.
 */
import { renderTokens, renderFeatureBars } from '../../packages/web/src/view';
import { h, append } from '../../packages/web/src/dom';

const HOSTILE = [
  `<img src=x onerror="window.__pwned=1">`,
  `"><svg onload=window.__pwned=2>`,
  `</script><script>window.__pwned=3</script>`,
  `javascript:window.__pwned=4`,
  `' onmouseover='window.__pwned=5' x='`,
  `&lt;b&gt;entities stay literal&lt;/b&gt;`,
];

/** Every descendant element of a container, as tag names. */
const tags = (el: Element) => Array.from(el.querySelectorAll('*'), (e) => e.tagName.toLowerCase());
/** Attributes that could carry script or a URL. */
const riskyAttributes = (el: Element) =>
  Array.from(el.querySelectorAll('*')).flatMap((e) => Array.from(e.attributes).filter((a) => /^on|^href$|^src$|^srcdoc$/i.test(a.name)).map((a) => a.name));

afterEach(() => expect((window as unknown as { __pwned?: unknown }).__pwned).toBeUndefined());

test('renderTokens shows hostile tokens as text, one span each, with the score in the title', () => {
  const div = document.createElement('div');
  const scores = [2, -1, 0.5, 0, -2, 1];
  renderTokens(div, HOSTILE, scores);
  expect(tags(div)).toEqual(HOSTILE.map(() => 'span'));
  expect(riskyAttributes(div)).toEqual([]);
  const spans = Array.from(div.querySelectorAll('span'));
  expect(spans.map((s) => s.textContent)).toEqual(HOSTILE);
  expect(spans.map((s) => s.title)).toEqual(HOSTILE.map((t, i) => `${t}: ${scores[i].toFixed(4)}`));
  // sign to hue: positive red-dominant, negative blue-dominant, zero white
  const rgb = spans.map((s) => s.style.background.match(/\d+/g)!.map(Number));
  expect(rgb[0][0]).toBeGreaterThan(rgb[0][2]);
  expect(rgb[1][2]).toBeGreaterThan(rgb[1][0]);
  expect(rgb[3]).toEqual([255, 255, 255]);
  // a second render replaces the first
  renderTokens(div, ['ok'], [1]);
  expect(div.querySelectorAll('span').length).toBe(1);
});

test('renderFeatureBars shows hostile feature names as text, ordered by magnitude, bars on the right side of the axis', () => {
  const div = document.createElement('div');
  const values = [0.1, -0.8, 0.4, 0, -0.2, 0.05];
  renderFeatureBars(div, values, HOSTILE, 4);
  const cells = Array.from(div.children);
  expect(cells.length).toBe(4 * 3);
  expect(riskyAttributes(div)).toEqual([]);
  expect(tags(div).filter((t) => t !== 'div')).toEqual([]);
  const names = cells.filter((_, i) => i % 3 === 0).map((c) => c.textContent);
  expect(names).toEqual([HOSTILE[1], HOSTILE[2], HOSTILE[4], HOSTILE[0]]);
  expect(cells.filter((_, i) => i % 3 === 2).map((c) => c.textContent)).toEqual(['-0.8000', '0.4000', '-0.2000', '0.1000']);
  // the largest bar is half the track; a negative bar ends at the axis, a positive one starts there
  const bar = (row: number) => cells[row * 3 + 1].querySelector('.bar') as HTMLElement;
  expect([bar(0).className, bar(0).style.left, bar(0).style.width]).toEqual(['bar neg', '0%', '50%']);
  expect([bar(1).className, bar(1).style.left, bar(1).style.width]).toEqual(['bar pos', '50%', '25%']);
  expect([bar(2).style.left, bar(2).style.width]).toEqual(['37.5%', '12.5%']);
  // no names: "feature i"
  renderFeatureBars(div, values, undefined, 2);
  expect(Array.from(div.children).filter((_, i) => i % 3 === 0).map((c) => c.textContent)).toEqual(['feature 1', 'feature 2']);
});

test('h and append turn strings into text nodes and set only the listed properties', () => {
  const el = h('div', { id: HOSTILE[1], className: HOSTILE[4], title: HOSTILE[0], dataset: { sample: HOSTILE[2] } }, HOSTILE[0], 42, null, false, undefined);
  append(el, h('b', {}, HOSTILE[2]));
  expect(tags(el)).toEqual(['b']);
  expect(el.childNodes[0].nodeType).toBe(Node.TEXT_NODE);
  expect(el.textContent).toBe(`${HOSTILE[0]}42${HOSTILE[2]}`);
  expect([el.id, el.className, el.title, el.dataset.sample]).toEqual([HOSTILE[1], HOSTILE[4], HOSTILE[0], HOSTILE[2]]);
  expect(Array.from(el.attributes, (a) => a.name).sort()).toEqual(['class', 'data-sample', 'id', 'title']);
});
