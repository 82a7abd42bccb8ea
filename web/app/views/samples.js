// The calibration samples as previews: one figure per sample file (what the model sees, its
// shape, a remove button), a click enlarges one. Stateless; the app passes the preview maker
// (a canvas, browser only) and the callbacks, so node --test covers it on a fake document.
import { h } from './dom.js';

/**
 * samples: the page's list [{name, source, kind, shape, stacked, count}]. opts: {preview(sample)
 * -> element | null, onRemove(index), limit (figures shown), enlarged (index | null),
 * onEnlarge(index | null), disabled}. Returns the elements to put in the previews box.
 */
export function renderSamplePreviews(doc, samples, opts = {}) {
  const n = samples.reduce((sum, s) => sum + (s.count ?? 1), 0);
  if (!n) return [h(doc, 'p', { class: 'muted small' }, 'No samples yet.')];
  const limit = opts.limit ?? 24;
  const out = samples.slice(0, limit).map((s, i) => {
    const label = s.source ?? s.name;
    const enlarged = opts.enlarged === i;
    const picture = opts.preview?.(s, enlarged) ?? h(doc, 'div', { class: 'preview-placeholder' }, s.kind === 'npz' ? '.npz' : '—');
    const remove = h(doc, 'button', { class: 'preview-remove', type: 'button', title: `Remove ${label}`,
      'aria-label': `Remove ${label}`, disabled: opts.disabled ? true : null, dataset: { index: i } }, '×');
    remove.addEventListener('click', (e) => { e?.stopPropagation?.(); opts.onRemove?.(i); });
    const figure = h(doc, 'figure', { class: enlarged ? 'preview is-enlarged' : 'preview', title: `${label} — click to ${enlarged ? 'shrink' : 'enlarge'}`,
      dataset: { name: s.name, index: i }, tabindex: 0 },
    picture, remove,
    h(doc, 'figcaption', null, s.stacked ? `${s.count}× [${s.shape.slice(1).join('×')}]` : s.shape ? `[${s.shape.join('×')}]` : s.kind,
      enlarged ? ` · ${label}` : ''));
    const toggle = () => opts.onEnlarge?.(enlarged ? null : i);
    figure.addEventListener('click', toggle);
    figure.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
    return figure;
  });
  if (samples.length > limit) out.push(h(doc, 'p', { class: 'muted small preview-more' }, `+ ${samples.length - limit} more files`));
  return out;
}
