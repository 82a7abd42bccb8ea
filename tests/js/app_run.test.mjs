// The app's run, cancel and override logic (web/app/), driven under node on a fake page
// (fake_dom.mjs createPage) over the real JS API and worker protocol with the fake engine
// (fake_engine.mjs), as the views are: the app binds nothing on import, start() binds it to the
// page it is given.
import assert from 'node:assert/strict';
import test from 'node:test';
import { start } from '../../web/app/app.js';
import { openFiles } from '../../web/app/model.js';
import { overrideLayer, selectPoint } from '../../web/app/results_page.js';
import { cancelRun, runQuantize } from '../../web/app/run.js';
import { setSamples } from '../../web/app/samples.js';
import { h } from '../../web/app/views/dom.js';
import { createPage } from './fake_dom.mjs';
import { fakeEngine, installWorker } from './fake_engine.mjs';

/** Resolves once cond() holds (polled), or fails naming `what`. */
async function until(cond, what, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 5));
  }
}

/** The app on a fake page with `engine` behind its worker, a model open and two samples in. */
async function openApp(engine) {
  installWorker(engine);
  const document = createPage();
  // The settings form as index.html has it (what a run locks); other elements are made on demand.
  document.body.appendChild(h(document, 'form', { id: 'settings-form' },
    ['set-mode', 'set-profile', 'set-target-kind'].map((id) => h(document, 'select', { id })),
    h(document, 'div', { id: 'set-candidates' }),
    ['set-target-value', 'set-target-slider', 'set-max-samples', 'set-score-module', 'set-learned-rounding'].map((id) => h(document, 'input', { id })),
    Object.assign(h(document, 'input', { id: 'set-bias-correction' }), { checked: true })));  // checked in index.html
  const window = { addEventListener() {} };
  window.parent = window;  // not embedded
  const { ui, state } = await start({ document, location: new URL('http://127.0.0.1/?empty'), window });
  assert.equal(ui.app.dataset.state, 'idle', '?empty opens nothing');
  // The settings form as index.html has it: the candidates' boxes, a target, samples used.
  for (const c of ['W4A8', 'W8A8', 'W8A16']) {
    const box = h(document, 'input', { type: 'checkbox', value: c });
    box.value = c;
    box.checked = true;
    ui.candidates.appendChild(box);
  }
  ui.targetKind.value = 'bops';
  ui.targetValue.value = '0.6';
  ui.maxSamples.value = '32';
  openFiles([new File([new Uint8Array(8)], 'm.onnx')]);
  await until(() => ui.app.dataset.state === 'ready' && ui.app.dataset.busy === 'false', 'the model');
  await setSamples([{ name: 'a.npy', bytes: new Uint8Array([1]) }, { name: 'b.npy', bytes: new Uint8Array([2]) }]);
  assert.ok(!ui.runButton.disabled, 'a model and samples: Quantize is enabled');
  return { document, ui, state };
}

test('app: a run sends the form\'s options, shows its phases and results, and unlocks the page', async () => {
  const engine = fakeEngine();
  const { ui, state } = await openApp(engine);
  await runQuantize();
  const q = engine.calls.find((c) => c[0] === 'wsQuantize');
  assert.equal(q[1].target, 'bops=0.6');
  assert.deepEqual(q[1].candidates, ['W4A8', 'W8A8', 'W8A16']);
  assert.equal(ui.app.dataset.run, 'done');
  assert.match(ui.runStatus.textContent, /^Done in \d+\.\d s\.$/);
  assert.equal(state.running, null);
  assert.ok(state.report.pareto.length > 1, 'the report is kept, normalized');
  assert.ok(ui.resultsPareto.byId('pareto-chart'), 'the chart is drawn');
  assert.ok(ui.resultsTable.byId('quant-table'), 'the table is drawn');
  assert.equal(ui.stepResults.hidden, false);
  const phases = ui.phases.children;
  assert.ok(phases.length > 0 && phases.every((li) => li.classList.contains('phase-done')), 'every phase that ran is done');
  assert.equal(ui.liveFront.hidden, true, 'the live front gives way to the results');
  assert.equal(ui.cancelButton.hidden, true);
  assert.ok(!ui.runButton.disabled, 'Quantize again is possible');
  assert.ok(!ui.targetValue.disabled, 'the settings are unlocked');

  // A front point: one evaluation of its configuration, nothing searched again.
  const before = engine.calls.length;
  const index = state.report.pareto.findIndex((p) => p.groupConfig && !p.dominated);
  await selectPoint(index);
  const evaluate = engine.calls.slice(before).find((c) => c[0] === 'wsQuantize');
  assert.deepEqual(evaluate[1].config, state.report.pareto[index].groupConfig ?? evaluate[1].config);
  assert.equal(state.pointIndex, index);
  assert.equal(ui.app.dataset.job, 'evaluate');
  assert.equal(ui.app.dataset.run, 'done');
});

test('app: an override goes on top of what is shown, and the table marks it', async () => {
  const engine = fakeEngine();
  const { ui, state } = await openApp(engine);
  await runQuantize();
  const shown = state.result.report.selected.group_config;
  await overrideLayer('conv2', 'W8A16');
  const call = engine.calls.filter((c) => c[0] === 'wsQuantize').at(-1)[1];
  assert.deepEqual(call.layerBits, { conv2: 'W8A16' }, 'the layer\'s bits');
  assert.deepEqual(call.config, shown, 'on top of the configuration shown');
  assert.deepEqual([...state.overrides], [['conv2', 'W8A16']]);
  const row = ui.resultsTable.querySelector('tr[data-layer="conv2"]');
  assert.ok(row.classList.contains('row-override'), 'the row shows the override');
  // A second override keeps the first; null takes one back.
  await overrideLayer('fc', 'W4A8');
  assert.deepEqual(engine.calls.filter((c) => c[0] === 'wsQuantize').at(-1)[1].layerBits, { conv2: 'W8A16', fc: 'W4A8' });
  await overrideLayer('conv2', null);
  assert.deepEqual(engine.calls.filter((c) => c[0] === 'wsQuantize').at(-1)[1].layerBits, { fc: 'W4A8' });
  assert.deepEqual([...state.overrides], [['fc', 'W4A8']]);
  assert.equal(state.running, null);
});

test('app: cancel stops the run, restarts the engine with the model and samples, and a new run completes', async () => {
  const engine = fakeEngine({ delayMs: 150 });
  const { ui, state } = await openApp(engine);
  const running = runQuantize();
  await until(() => state.running === 'quantize', 'the run to start');
  assert.equal(ui.cancelButton.hidden, false, 'Cancel is offered while it runs');
  assert.equal(ui.runButton.disabled, true);
  assert.equal(ui.targetValue.disabled, true, 'the settings are locked while it runs');
  await cancelRun();
  await running;
  assert.equal(ui.app.dataset.run, 'cancelled', ui.bannerMessage.textContent + ui.resultsErrorMessage.textContent);
  assert.match(ui.runStatus.textContent, /^Cancelled\. The engine was restarted; your model and samples are kept\.$/);
  assert.equal(state.running, null);
  assert.equal(state.result, null, 'nothing is shown from the cancelled run');
  assert.equal(ui.banner.hidden !== false, true, 'a cancel is not an error');
  assert.ok(!ui.runButton.disabled, 'Quantize is enabled again');
  assert.ok(!ui.targetValue.disabled, 'the settings are unlocked');
  await runQuantize();
  assert.equal(ui.app.dataset.run, 'done', 'a run after the cancel completes');
  assert.ok(state.report.pareto.length > 1);
  // The restarted worker was given the model and the samples again.
  assert.ok(engine.calls.filter((c) => c[0] === 'wsLoad').length >= 2);
  assert.ok(engine.calls.filter((c) => c[0] === 'wsSetSamples').length >= 2);
});

test('app: a bad target is refused beside the settings, without a run', async () => {
  const engine = fakeEngine();
  const { ui } = await openApp(engine);
  ui.targetValue.value = 'abc';
  await runQuantize();
  assert.ok(!engine.calls.some((c) => c[0] === 'wsQuantize'), 'nothing was run');
  assert.equal(ui.banner.hidden, false);
  assert.match(ui.bannerMessage.textContent, /^Target bops: "abc" is not a valid/);
  assert.equal(ui.banner.previousElementSibling, ui.settingsForm, 'the error is under the settings');
  assert.ok(ui.targetValue.classList.contains('is-invalid'));
});
