/**
 * Class names from a labels file or the model's metadata: every format the
 * parser takes, against the names written into it, and its refusals.
 */
import { parseLabels, metadataLabels } from '@onnx-explain/core';

describe('parseLabels', () => {
  test.each([
    ['one per line, trailing blank lines and spaces dropped', 'cat\n dog \r\nbird\n\n', ['cat', 'dog', 'bird']],
    ['a JSON list', '["cat", "dog", 3]', ['cat', 'dog', '3']],
    ["a JSON object from index to name (Hugging Face's id2label)", '{"1": "dog", "0": "cat"}', ['cat', 'dog']],
  ])('%s', (_, text, want) => {
    expect(parseLabels(text, 'f')).toEqual(want);
  });

  test.each([
    ['{"0": "cat", "2": "bird"}', 'f: no label for class 1'],
    ['{"x": "cat"}', 'f: a JSON object of labels maps class indices to names, got "x": "cat"'],
    ['[1, [2]]', 'f: a JSON list of labels holds strings only'],
    ['[1, ', 'f looks like JSON but does not parse'],
    ['\n\n', 'f holds no labels'],
  ])('%j is refused', (text, message) => {
    expect(() => parseLabels(text, 'f')).toThrow(message);
  });
});

test('metadataLabels: the keys exporters use, JSON or a plain list; none when absent or unreadable', () => {
  expect(metadataLabels([{ key: 'id2label', value: '{"0": "neg", "1": "pos"}' }])).toEqual(['neg', 'pos']);
  expect(metadataLabels([{ key: 'producer', value: 'x' }, { key: 'classes', value: 'cat, dog,bird' }])).toEqual(['cat', 'dog', 'bird']);
  expect(metadataLabels([{ key: 'Labels', value: 'a\nb' }])).toEqual(['a', 'b']);
  expect(metadataLabels([{ key: 'labels', value: '{broken' }])).toBeUndefined();
  expect(metadataLabels([{ key: 'labels', value: 'just one' }])).toBeUndefined();
  expect(metadataLabels([])).toBeUndefined();
});
