/**
 * @jest-environment ./test/helpers/jsdom-environment.js
 *
 * The dashboard's text view without a browser (jsdom): the generation matrix
 * as a table (a row per generated token, a cell per earlier token, empty
 * where the matrix is null, colours on core's diverging scale, values in
 * titles) with hostile token strings shown as text, and the baseline choices
 * the method section offers for tokens. The browser runs are in
 * textDashboard.test.ts.
 */
import { divergingColor, robustRange, type GenerationExplanation } from '@onnx-explain/core';
import { renderGenerationMatrix, setBaselineChoices, textBaseline } from '../../packages/web/src/dashboard/textView';

const HOSTILE = `<img src=x onerror="window.__pwned=1">`;

function generation(): GenerationExplanation {
  const tokens = ['the', ' capital', HOSTILE, ' is', ' paris'];
  return {
    method: 'integrated-gradients',
    promptIds: [1, 2, 3, 4],
    ids: [1, 2, 3, 4, 5, 6],
    tokens: [...tokens, ' .'],
    generated: [
      { id: 5, token: ' paris', position: 4, logProb: -0.1, scores: [0.5, -0.25, 1, 2], delta: 1e-3 },
      { id: 6, token: HOSTILE, position: 5, logProb: -0.2, scores: [0.1, 0, -1, 0.3, 0.2] },
    ],
    matrix: [
      [0.5, -0.25, 1, 2, null],
      [0.1, 0, -1, 0.3, 0.2],
    ],
    baseline: 'zeros',
    gradientSource: 'graph',
  };
}

test('the matrix: a row per generated token, a cell per earlier token, null cells empty, tokens as text', () => {
  const g = generation();
  const table = renderGenerationMatrix(g);
  document.body.append(table);
  expect(Array.from(table.querySelectorAll('thead th.col'), (e) => e.textContent)).toEqual(g.tokens.slice(0, 5));
  const rows = Array.from(table.querySelectorAll('tbody tr'));
  expect(rows.map((r) => r.querySelector('th')!.textContent)).toEqual([' paris', HOSTILE]);
  expect(rows.map((r) => r.querySelectorAll('td').length)).toEqual([5, 5]);
  expect(rows.map((r) => r.querySelectorAll('td.empty').length)).toEqual([1, 0]);
  const range = robustRange([0.5, -0.25, 1, 2, 0.1, 0, -1, 0.3, 0.2]);
  const cell = rows[1].querySelectorAll('td')[2] as HTMLElement;
  expect(cell.title).toBe(`${HOSTILE} → ${HOSTILE}: -1.0000`);
  expect(cell.style.background).toBe(`rgb(${divergingColor(-1 / range).join(', ')})`);
  expect((rows[0].querySelector('th') as HTMLElement).title).toBe('log p = -0.1000, completeness gap 1.00e-3');
  // nothing but the table's own elements, no attributes from the strings, no handler ran
  expect(new Set(Array.from(table.querySelectorAll('*'), (e) => e.tagName))).toEqual(new Set(['THEAD', 'TBODY', 'TR', 'TH', 'TD']));
  expect(table.querySelector('[onerror], [src]')).toBeNull();
  expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
});

test('baseline choices: token choices with a tokenizer, the numeric ones back without; a choice is kept only within its kind', () => {
  const select = document.createElement('select');
  setBaselineChoices(select, false);
  expect(Array.from(select.options, (o) => o.value)).toEqual(['zeros', 'constant']);
  setBaselineChoices(select, true, { padId: 0 } as never);
  expect(Array.from(select.options, (o) => o.value)).toEqual(['default', 'pad', 'zeros', 'constant']);
  // the numeric 'zeros' was chosen before; for tokens the default is taken instead
  expect(select.value).toBe('default');
  select.value = 'pad';
  setBaselineChoices(select, true, { padId: 0 } as never);
  expect(select.value).toBe('pad');
  setBaselineChoices(select, true, { padId: undefined } as never);
  expect(Array.from(select.options, (o) => o.value)).toEqual(['default', 'zeros', 'constant']);
  expect([textBaseline('default', 3), textBaseline('pad', 3), textBaseline('zeros', 3), textBaseline('constant', 7)]).toEqual([undefined, 'pad', 'zeros', 7]);
});
