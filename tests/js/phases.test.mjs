// The run's phase list (views/phases.js). A phase the run has moved past is drawn full: in the
// issue 14 walk-through the list said "done" beside a part-filled "Float reference" bar (text_rec,
// the textline sample) and an empty "Sensitivity" bar (the embedded labelled demo), because the
// bar kept the fraction of the phase's last progress event.
import assert from 'node:assert/strict';
import test from 'node:test';
import { phaseRows, renderPhases } from '../../web/app/views/phases.js';
import { createDocument } from './fake_dom.mjs';

const ev = (phase, done, total, etaSeconds = 5) => ({ phase, done, total, fraction: done / total, etaSeconds });

test('phases: a phase that is over is full and says done; the running one shows its fraction and ETA', () => {
  const current = { phase: 'phase1', full: true,
    phases: new Map([['calibration', ev('calibration', 32, 32)], ['reference', ev('reference', 24, 32)], ['phase0', ev('phase0', 0, 4)], ['phase1', ev('phase1', 10, 40, 65)]]) };
  const rows = phaseRows(current);
  const by = Object.fromEntries(rows.map((r) => [r.id, r]));
  assert.deepEqual(rows.map((r) => r.id), ['calibration', 'reference', 'phase0', 'phase1', 'phase2', 'phase3', 'evaluate', 'export'],
    'a whole run lists every phase but learned rounding, those to come as todo');
  assert.deepEqual([by.reference.status, by.reference.fraction, by.reference.text], ['done', 1, 'done']);
  assert.deepEqual([by.phase0.status, by.phase0.fraction], ['done', 1], 'even one that reported nothing past 0');
  assert.deepEqual([by.phase1.status, by.phase1.fraction, by.phase1.text], ['active', 0.25, '10/40 · 1 min 05 s left']);
  assert.deepEqual([by.phase2.status, by.phase2.fraction, by.phase2.text], ['todo', 0, '']);
  const items = renderPhases(createDocument(), current);
  const fill = (id) => items.find((li) => li.dataset.phase === id).findAll((e) => e.classList.contains('phase-fill'))[0].style.getPropertyValue('width');
  assert.equal(fill('reference'), '100.0%');
  assert.equal(fill('phase0'), '100.0%');
  assert.equal(fill('phase1'), '25.0%');
  assert.ok(items.find((li) => li.dataset.phase === 'phase1').classList.contains('phase-active'));
});

test('phases: finished runs list what ran; an evaluation lists only its phases; learned rounding when asked', () => {
  const finished = { phase: null, full: true, finished: true, phases: new Map([['calibration', ev('calibration', 1, 2)], ['export', ev('export', 1, 1)]]) };
  assert.deepEqual(phaseRows(finished).map((r) => [r.id, r.status, r.fraction]), [['calibration', 'done', 1], ['export', 'done', 1]]);
  const evaluation = { phase: 'evaluate', full: false, phases: new Map([['evaluate', ev('evaluate', 3, 8)]]) };
  assert.deepEqual(phaseRows(evaluation).map((r) => r.id), ['evaluate']);
  const run = { phase: null, full: true, phases: new Map() };
  assert.ok(!phaseRows(run).some((r) => r.id === 'ranges'));
  assert.ok(phaseRows(run, { learnedRounding: true }).some((r) => r.id === 'ranges'));
});
