// The page's status line, busy state and error banners: each error is shown beside what
// caused it and scrolled into view.
import { ui, state } from './context.js';

export function setBusy(busy, message = '') {
  state.busy = busy;
  ui.app.dataset.busy = String(busy);
  ui.app.setAttribute('aria-busy', String(busy));
  ui.chooseButton.disabled = busy || Boolean(state.running);
  ui.sampleButton.disabled = busy || Boolean(state.running);
  ui.samplePick.disabled = busy || Boolean(state.running);
  ui.dropZone.classList.toggle('is-busy', busy);
  ui.loadStatus.textContent = message;
  for (const b of ui.summary.querySelectorAll('button')) if (b !== ui.bannerClose) b.disabled = busy;
}

/**
 * The error banner, next to what caused it: `near` is the element it goes after (the samples
 * step, the settings form, the input-shape card...); without it, under the model drop zone. It is
 * scrolled into view, so an error never lands off-screen, and the page stays usable.
 */
export function showError(title, message, near = null) {
  ui.bannerTitle.textContent = title;
  ui.bannerMessage.textContent = message;
  // Beside its cause, unless an embed hid that panel: then at the top, where it is seen.
  const anchor = near && near.isConnected && !near.closest('[data-panel-off]') ? near : ui.dropZone;
  if (anchor.nextElementSibling !== ui.banner) anchor.after(ui.banner);
  ui.banner.classList.toggle('banner-inline', anchor !== ui.dropZone);
  ui.banner.dataset.near = anchor.id || anchor.className || '';
  ui.bannerClose.disabled = false;  // setBusy() disables the summary's buttons, this one too while it sat there
  ui.banner.hidden = false;
  ui.banner.scrollIntoView?.({ block: 'nearest' });
}

/** Where errors about samples and preprocessing go: under the samples step's body. */
export const nearSamples = () => ui.stepSamples.querySelector('.step-body');

export function hideError() { ui.banner.hidden = true; }

/** Before `container` is rebuilt: the banner, if it was put inside it, goes back home first. */
export function keepBanner(container) {
  if (container.contains(ui.banner)) {
    ui.dropZone.after(ui.banner);
    ui.banner.classList.remove('banner-inline');
  }
}

/**
 * An evaluation, re-selection or export that failed: said beside the results (or the export
 * buttons), where the user is looking; what was shown stays and the page stays usable.
 */
export function showJobError(kind, title, message) {
  if (kind === 'quantize') { showError(title, message, ui.settingsForm); return; }
  const [box, t, m] = kind === 'export' ? [ui.exportError, ui.exportErrorTitle, ui.exportErrorMessage]
    : [ui.resultsError, ui.resultsErrorTitle, ui.resultsErrorMessage];
  t.textContent = title;
  m.textContent = message;
  box.hidden = false;
}

export function hideJobErrors() {
  ui.resultsError.hidden = true;
  ui.exportError.hidden = true;
}

export const messageOf = (e) => e?.message ?? String(e);
