/**
 * The one way the dashboard and the exported views put text into a page.
 *
 * A model is untrusted input: its input, output and node names, its producer
 * and metadata, feature and class names and token strings may carry markup.
 * Everything is built here as DOM nodes, and every string becomes a Text node,
 * so nothing a model or a user supplies is ever parsed as HTML. There is no
 * innerHTML in this package; only the properties listed in `Props` can be set,
 * and none of them takes a URL or script.
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  id?: string;
  className?: string;
  title?: string;
  hidden?: boolean;
  /** data-* attributes; values are set as text. */
  dataset?: Record<string, string>;
  /** Inline styles through the CSSOM (allowed by a CSP without 'unsafe-inline'), never a style attribute. */
  style?: Partial<Record<'left' | 'width' | 'background', string>>;
}

/** An element with the given properties and children; strings and numbers become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.id !== undefined) el.id = props.id;
  if (props.className !== undefined) el.className = props.className;
  if (props.title !== undefined) el.title = props.title;
  if (props.hidden !== undefined) el.hidden = props.hidden;
  for (const [k, v] of Object.entries(props.dataset ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.style ?? {})) el.style.setProperty(k, v ?? '');
  append(el, ...children);
  return el;
}

/** Appends children to a node; strings and numbers become text nodes, absent ones are skipped. */
export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces a node's children (see `append`). */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}
