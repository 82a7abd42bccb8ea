// The JS API's entry point at the site's root, where the README's snippet and embedding pages
// import it from: the API itself is web/api/ (quantmix.js, its worker and the modules they load;
// it imports nothing of the app). The core's files (quantmix.mjs/.wasm, quantmix-mt.*) stay at
// the root, beside this file.
export * from './api/quantmix.js';
