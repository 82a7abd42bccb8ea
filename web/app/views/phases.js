// The run's phase list under the Quantize button: one row per phase with its bar, done/total and
// ETA. Stateless: the app passes the progress it keeps (runJob), so node --test covers it on a
// fake document.
import { formatEta, PHASES } from '../../api/quantmix.js';
import { h } from './dom.js';

/**
 * The rows to show for `current` = {phase (the one running, null when finished), phases: Map(id
 * -> the last progress event of that phase), full (a whole run: every phase listed, those to
 * come greyed), finished}. An evaluation lists only the phases the core reported. Learned
 * rounding ('ranges') is listed only in runs that ask for it (`learnedRounding`) or report it.
 * Returns [{id, label, status: 'done'|'active'|'todo', fraction, text}]: a phase that is over
 * is full (the core moves on without always reporting its last step).
 */
export function phaseRows(current, { learnedRounding = false } = {}) {
  const known = new Set(PHASES.map(([id]) => id));
  const extra = [...current.phases.keys()].filter((id) => !known.has(id)).map((id) => [id, id]);
  const phases = PHASES.filter(([id]) => id !== 'ranges' || current.phases.has(id) || learnedRounding);
  const rows = current.full ? [...phases, ...extra]
    : [...current.phases.keys()].map((id) => [id, PHASES.find(([p]) => p === id)?.[1] ?? id]);
  const out = [];
  for (const [id, label] of rows) {
    const p = current.phases.get(id);
    if (!p && current.finished) continue;  // a phase this run did not have
    const status = !p ? 'todo' : current.phase === id ? 'active' : 'done';
    const eta = status === 'active' ? formatEta(p.etaSeconds) : '';
    out.push({ id, label, status, fraction: status === 'done' ? 1 : p?.fraction ?? 0,
      text: status === 'done' ? 'done' : eta ? `${p.done}/${p.total} · ${eta} left` : p ? `${p.done}/${p.total}` : '' });
  }
  return out;
}

/** The list items of phaseRows(current, opts), for the phases list. */
export function renderPhases(doc, current, opts = {}) {
  return phaseRows(current, opts).map((r) => h(doc, 'li', { class: `phase phase-${r.status}`, dataset: { phase: r.id, fraction: r.fraction.toFixed(3) } },
    h(doc, 'span', { class: 'phase-label' }, r.label),
    h(doc, 'span', { class: 'phase-track' }, h(doc, 'span', { class: 'phase-fill', style: { width: `${(r.fraction * 100).toFixed(1)}%` } })),
    h(doc, 'span', { class: 'phase-eta' }, r.text)));
}
