// A tiny element builder. Views take the document as a parameter (netron's Host idea), so the
// tests can pass a minimal fake document (tests/js/fake_dom.mjs) instead of a browser.

/**
 * h(doc, 'div', {class: 'x', dataset: {id: '1'}, title: 't'}, child, 'text', [more, children])
 * Children may be nodes, strings, numbers, arrays, or null/false (skipped). Never parses HTML, so
 * names from a model cannot inject markup.
 */
export function h(doc, tag, props = null, ...children) {
  const el = doc.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key === 'style') for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(doc, el, children);
  return el;
}

function append(doc, el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(doc, el, child);
    else if (typeof child === 'string' || typeof child === 'number') el.appendChild(doc.createTextNode(String(child)));
    else el.appendChild(child);
  }
}

/** Removes every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Like h(), for SVG elements (attributes only; children as in h). */
export function s(doc, tag, attrs = null, ...children) {
  const el = doc.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'dataset') for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, String(value));
  }
  append(doc, el, children);
  return el;
}
