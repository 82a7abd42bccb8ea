// A minimal document for testing views without a browser: just what web/app/views/dom.js uses
// (createElement, createTextNode, attributes, dataset, style, events) plus query helpers; and
// createPage(), a document whose getElementById makes any element the app asks for, with what
// the app's modules use (simple selectors, classList, closest, after, events) to drive them.

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
  get classList() {
    const list = () => this.className.split(/\s+/).filter(Boolean);
    const set = (names) => { this.className = names.join(' '); };
    return {
      contains: (c) => list().includes(c),
      add: (...cs) => set([...new Set([...list(), ...cs])]),
      remove: (...cs) => set(list().filter((x) => !cs.includes(x))),
      toggle: (c, force) => {
        const on = force === undefined ? !list().includes(c) : Boolean(force);
        set(on ? [...new Set([...list(), c])] : list().filter((x) => x !== c));
        return on;
      },
    };
  }
  get id() { return this.attributes.get('id') ?? ''; }
  set id(v) { this.attributes.set('id', String(v)); }
  setAttribute(k, v) { this.attributes.set(k, String(v)); }
  getAttribute(k) { return this.attributes.get(k) ?? null; }
  removeAttribute(k) { this.attributes.delete(k); }
  hasAttribute(k) { return this.attributes.has(k); }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  removeEventListener(type, fn) { this.listeners[type] = (this.listeners[type] ?? []).filter((f) => f !== fn); }
  /** Calls the listeners of event.type (target: this unless given); returns !defaultPrevented. */
  dispatchEvent(event) {
    const e = { target: this, preventDefault() { this.defaultPrevented = true; }, defaultPrevented: false, ...event };
    for (const fn of this.listeners[e.type] ?? []) fn(e);
    return !e.defaultPrevented;
  }
  click() { if (!this.disabled) this.dispatchEvent({ type: 'click' }); }
  focus() {}
  scrollIntoView() {}
  getBoundingClientRect() { return { x: 0, y: 0, top: 0, left: 0, bottom: 0, right: 0, width: 0, height: 0 }; }
  get children() { return this.childNodes.filter((c) => c instanceof Element); }
  get parentElement() { return this.parentNode instanceof Element ? this.parentNode : null; }
  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n === this.ownerDocument.body;
  }
  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  sibling(step) {
    const list = this.parentNode?.children ?? [];
    return list[list.indexOf(this) + step] ?? null;
  }
  get nextElementSibling() { return this.sibling(1); }
  get previousElementSibling() { return this.sibling(-1); }
  /** Inserts `node` right after this element in its parent. */
  after(node) {
    const parent = this.parentNode;
    if (node.parentNode) node.parentNode.removeChild(node);
    node.parentNode = parent;
    parent.childNodes.splice(parent.childNodes.indexOf(this) + 1, 0, node);
  }
  remove() { this.parentNode?.removeChild(this); }
  matches(selector) { return selector.split(',').some((sel) => matchesChain(this, sel.trim().split(/\s+/))); }
  closest(selector) {
    for (let n = this; n instanceof Element; n = n.parentNode) if (n.matches(selector)) return n;
    return null;
  }
  querySelectorAll(selector) { return this.findAll((e) => e.matches(selector)); }
  querySelector(selector) { return this.querySelectorAll(selector)[0] ?? null; }
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

/** One compound selector (tag, #id, .class, [attr], [attr="v"], :checked) against `el`. */
function matchesCompound(el, compound) {
  const re = /([a-zA-Z][\w-]*)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:="([^"]*)")?\]|:checked/g;
  let m;
  let seen = 0;
  while ((m = re.exec(compound)) !== null) {
    seen += m[0].length;
    if (m[1] && el.tagName !== m[1].toUpperCase()) return false;
    if (m[2] && el.id !== m[2]) return false;
    if (m[3] && !el.classList.contains(m[3])) return false;
    if (m[4]) {
      const name = m[4].startsWith('data-') ? null : m[4];
      const v = name ? el.getAttribute(name) : el.dataset[m[4].slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())];
      if (v === null || v === undefined || (m[5] !== undefined && v !== m[5])) return false;
    }
    if (m[0] === ':checked' && !(el.checked === true)) return false;
  }
  if (seen !== compound.length) throw new Error(`fake_dom: unsupported selector "${compound}"`);
  return true;
}

/** A descendant chain ("a .b c") against `el`: the last compound on el, the rest on ancestors. */
function matchesChain(el, chain) {
  if (!matchesCompound(el, chain[chain.length - 1])) return false;
  let rest = chain.slice(0, -1);
  for (let n = el.parentNode; rest.length && n instanceof Element; n = n.parentNode) {
    if (matchesCompound(n, rest[rest.length - 1])) rest = rest.slice(0, -1);
  }
  return rest.length === 0;
}

/**
 * A page for the app's modules (web/app/): a body, and getElementById that returns the element
 * with that id, making it (a div under the body) when the page has none, so the app's every
 * element exists without its HTML. querySelector(All) search the body.
 */
export function createPage() {
  const doc = createDocument();
  doc.body = doc.createElement('body');
  doc.getElementById = (id) => {
    let el = doc.body.byId(id);
    if (!el) {
      el = doc.createElement('div');
      el.id = id;
      doc.body.appendChild(el);
    }
    return el;
  };
  doc.querySelectorAll = (sel) => doc.body.querySelectorAll(sel);
  doc.querySelector = (sel) => doc.body.querySelector(sel);
  return doc;
}

export function createDocument() {
  const doc = {
    createElement: (tag) => new Element(doc, tag),
    createElementNS: (ns, tag) => { const el = new Element(doc, tag); el.namespaceURI = ns; return el; },
    createTextNode: (text) => new Text(doc, text),
  };
  return doc;
}
