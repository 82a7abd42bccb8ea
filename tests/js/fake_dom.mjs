// A minimal document for testing views without a browser: just what web/views/dom.js uses
// (createElement, createTextNode, attributes, dataset, style, events) plus query helpers.

class Node {
  constructor(doc) {
    this.ownerDocument = doc;
    this.childNodes = [];
    this.parentNode = null;
  }
  get firstChild() { return this.childNodes[0] ?? null; }
  appendChild(child) {
    if (child.parentNode) child.parentNode.removeChild(child);
    child.parentNode = this;
    this.childNodes.push(child);
    return child;
  }
  removeChild(child) {
    this.childNodes = this.childNodes.filter((c) => c !== child);
    child.parentNode = null;
    return child;
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(''); }
  set textContent(v) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    if (v !== '' && v !== null && v !== undefined) this.appendChild(new Text(this.ownerDocument, String(v)));
  }
}

class Text extends Node {
  constructor(doc, text) { super(doc); this.data = text; }
  get textContent() { return this.data; }
  set textContent(v) { this.data = String(v); }
}

class Element extends Node {
  constructor(doc, tag) {
    super(doc);
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.dataset = {};
    this.listeners = {};
    this.value = '';
    const props = new Map();
    this.style = { setProperty: (k, v) => props.set(k, v), getPropertyValue: (k) => props.get(k) ?? '' };
  }
  set className(v) { this.attributes.set('class', v); }
  get className() { return this.attributes.get('class') ?? ''; }
  get classList() { return { contains: (c) => this.className.split(/\s+/).includes(c) }; }
  setAttribute(k, v) { this.attributes.set(k, String(v)); }
  getAttribute(k) { return this.attributes.get(k) ?? null; }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  get children() { return this.childNodes.filter((c) => c instanceof Element); }
  /** Every descendant element for which pred(el) is true, in document order. */
  findAll(pred) {
    const out = [];
    for (const c of this.children) {
      if (pred(c)) out.push(c);
      out.push(...c.findAll(pred));
    }
    return out;
  }
  byClass(name) { return this.findAll((e) => e.classList.contains(name)); }
  byTag(tag) { return this.findAll((e) => e.tagName === tag.toUpperCase()); }
  byId(id) { return this.findAll((e) => e.getAttribute('id') === id)[0] ?? null; }
}

export function createDocument() {
  const doc = {
    createElement: (tag) => new Element(doc, tag),
    createElementNS: (ns, tag) => { const el = new Element(doc, tag); el.namespaceURI = ns; return el; },
    createTextNode: (text) => new Text(doc, text),
  };
  return doc;
}
