/**
 * Class names, so a result says "class 3 (cat)" and not only "class 3": from
 * a labels file the user gives, or from the model's own metadata where the
 * exporter put them.
 */

/** Metadata keys exporters and people use for class names (Hugging Face's id2label, torchvision-style classes). */
const LABEL_KEYS = /^(labels|classes|class_names|class_labels|id2label)$/i;

/**
 * Names from a labels text: a JSON array of names, a JSON object from index
 * to name ({"0": "cat"}, as Hugging Face's id2label), or one name per line.
 * `source` names the file in errors.
 */
export function parseLabels(text: string, source = 'labels'): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`${source} looks like JSON but does not parse: ${(e as Error).message}`);
    }
    if (Array.isArray(parsed)) {
      if (!parsed.every((v) => typeof v === 'string' || typeof v === 'number')) throw new Error(`${source}: a JSON list of labels holds strings only`);
      return parsed.map(String);
    }
    const entries = Object.entries(parsed as Record<string, unknown>);
    const out: string[] = [];
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || typeof v !== 'string') throw new Error(`${source}: a JSON object of labels maps class indices to names, got ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      out[i] = v;
    }
    const missing = Array.from(out, (v, i) => (v === undefined ? i : -1)).filter((i) => i >= 0);
    if (missing.length) throw new Error(`${source}: no label for class${missing.length > 1 ? 'es' : ''} ${missing.slice(0, 5).join(', ')}`);
    return out;
  }
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (!lines.length) throw new Error(`${source} holds no labels`);
  return lines.map((l) => l.trim());
}

/** Class names from a model's metadata_props, when an exporter left them there. */
export function metadataLabels(metadata: { key: string; value: string }[]): string[] | undefined {
  const entry = metadata.find((m) => LABEL_KEYS.test(m.key));
  if (!entry) return undefined;
  const v = entry.value.trim();
  if (v.startsWith('[') || v.startsWith('{')) {
    try {
      return parseLabels(v, `the model's metadata '${entry.key}'`);
    } catch {
      return undefined;
    }
  }
  // one per line, or a comma-separated list as some exporters write it
  const names = (v.includes('\n') ? v.split(/\r?\n/) : v.split(',')).map((n) => n.trim()).filter(Boolean);
  return names.length > 1 ? names : undefined;
}
