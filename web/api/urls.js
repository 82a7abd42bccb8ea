// Same-origin URLs: what the JS API loads by URL (a score module, README "JS API") and the app's
// URL parameters (web/app/embed_params.js) must be files on the page's own origin over http(s). Pure.

/** Characters of a URL at most. */
export const MAX_PARAM_LENGTH = 4096;

/** A parameter value shown in a message: one line, at most 80 characters. */
export function quoteValue(v) {
  const one = String(v).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 77)}...` : one);
}

/**
 * `value` as an absolute URL on the origin of `base` (the page), or throws Error with a one-line
 * message naming `param`. Relative paths resolve against the page (e.g. samples/fashion_cnn.onnx).
 */
export function sameOriginUrl(value, base, param) {
  const text = String(value ?? '').trim();
  const page = new URL(base);
  if (!text) throw new Error(`${param}: empty (give a path on this site, e.g. samples/model.onnx)`);
  if (text.length > MAX_PARAM_LENGTH) throw new Error(`${param}: the URL is ${text.length} characters long (at most ${MAX_PARAM_LENGTH})`);
  // Control characters are dropped by the URL parser ("java\tscript:"): refuse them outright.
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new Error(`${param}: ${quoteValue(text)} contains control characters`);
  let url;
  try {
    url = new URL(text, page);
  } catch {
    throw new Error(`${param}: ${quoteValue(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${param}: ${quoteValue(text)} uses ${url.protocol} — only files on this site (${page.origin}) can be loaded`);
  }
  if (url.origin !== page.origin) {
    throw new Error(`${param}: ${quoteValue(text)} is on another origin (${url.origin}) — the app loads files from its own origin only (${page.origin})`);
  }
  if (url.username || url.password) throw new Error(`${param}: ${quoteValue(text)} carries credentials`);
  return url.href;
}
