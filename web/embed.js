// <quantmix-demo>: a live quantmix demo in a documentation page, from one tag (README
// "Embedding"). It builds an <iframe> of the app page beside this script with the element's
// attributes as URL parameters (model, sample, samples, labels, score, candidates, target, bits, profile,
// max-samples, preprocess, input-shapes, panels, autorun; web/app/embed_params.js checks them in the
// frame) and sizes the frame to the page inside it. A classic script, not a module, so a page on
// another origin can load it without CORS:
//
//   <script src="https://example.org/quantmix/embed.js" defer></script>
//   <quantmix-demo autorun target="bops=0.6" panels="settings,results"></quantmix-demo>
//
// File URLs (model, samples, labels, score) are relative to the app page, on the app's origin. The frame
// reports only its height and the run's state (postMessage {source: 'quantmix', type: 'size' |
// 'state'}); the element re-dispatches the state as a `quantmix-state` event and data-state.
(function () {
  'use strict';

  /** Attributes passed on as URL parameters of the same name. */
  var PARAMS = ['model', 'sample', 'samples', 'labels', 'score', 'candidates', 'target', 'bits', 'profile', 'max-samples',
    'preprocess', 'input-shapes', 'panels'];
  var FLAGS = ['autorun'];
  var MIN_HEIGHT = 160;
  var MAX_HEIGHT = 20000;

  var script = typeof document !== 'undefined' ? document.currentScript : null;
  // The app is the index.html beside this script, unless the element's `app` attribute says where.
  var BASE = script && script.src ? script.src : (typeof location !== 'undefined' ? location.href : 'http://localhost/');

  /**
   * The app URL for attributes `attrs` ({name: value}; a flag is present when its value is not
   * null, "false" or "0"). `base`: the URL of this script.
   */
  function embedUrl(attrs, base) {
    var url = new URL(attrs.app || './', base || BASE);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('quantmix-demo: app must be an http(s) URL');
    url.search = '';
    url.hash = '';
    url.searchParams.set('embed', '1');
    PARAMS.forEach(function (name) {
      var v = attrs[name];
      if (v !== null && v !== undefined) url.searchParams.set(name, String(v));
    });
    FLAGS.forEach(function (name) {
      var v = attrs[name];
      if (v !== null && v !== undefined && v !== 'false' && v !== '0') url.searchParams.set(name, '');
    });
    return url.href;
  }

  if (typeof HTMLElement === 'undefined' || typeof customElements === 'undefined') {
    if (typeof globalThis !== 'undefined') globalThis.QuantmixEmbed = { embedUrl: embedUrl };
    return;
  }

  var QuantmixDemo = class extends HTMLElement {
    static get observedAttributes() { return ['app', 'height'].concat(PARAMS, FLAGS); }

    connectedCallback() {
      if (!this.style.display) this.style.display = 'block';
      if (!this.frame) {
        var frame = document.createElement('iframe');
        frame.title = this.getAttribute('title') || 'quantmix: mixed-precision quantization, live in this page';
        frame.setAttribute('allow', 'cross-origin-isolated');  // wasm threads when this page is isolated
        frame.setAttribute('loading', this.getAttribute('loading') || 'lazy');
        frame.style.cssText = 'display:block;width:100%;border:0;';
        frame.style.height = (Number(this.getAttribute('height')) || 640) + 'px';
        this.frame = frame;
        this.appendChild(frame);
      }
      this.onMessage = this.onMessage || this.receive.bind(this);
      window.addEventListener('message', this.onMessage);
      this.load();
    }

    disconnectedCallback() {
      window.removeEventListener('message', this.onMessage);
    }

    attributeChangedCallback() {
      if (this.frame) this.load();
    }

    load() {
      var attrs = {};
      var self = this;
      ['app'].concat(PARAMS, FLAGS).forEach(function (name) { attrs[name] = self.getAttribute(name); });
      var src = embedUrl(attrs, BASE);
      this.origin = new URL(src).origin;
      if (this.frame.src !== src) this.frame.src = src;
    }

    /** Only messages from this element's own frame, from the app's origin. */
    receive(event) {
      if (!this.frame || event.source !== this.frame.contentWindow || event.origin !== this.origin) return;
      var d = event.data;
      if (!d || d.source !== 'quantmix') return;
      if (d.type === 'size' && typeof d.height === 'number' && isFinite(d.height) && !this.hasAttribute('height')) {
        this.frame.style.height = Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, d.height))) + 'px';
      } else if (d.type === 'state' && typeof d.state === 'string' && typeof d.run === 'string') {
        this.dataset.state = d.state.slice(0, 20);
        this.dataset.run = d.run.slice(0, 20);
        this.dispatchEvent(new CustomEvent('quantmix-state', { detail: { state: this.dataset.state, run: this.dataset.run } }));
      }
    }
  };

  if (!customElements.get('quantmix-demo')) customElements.define('quantmix-demo', QuantmixDemo);
  globalThis.QuantmixEmbed = { embedUrl: embedUrl };
})();
