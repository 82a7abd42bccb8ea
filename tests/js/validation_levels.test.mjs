// The app's "Validate with ONNX Runtime" at two graph optimisation levels (issue 13 item 2):
// web/app/validate.js runs the export at ORT's default level ('all') and with optimisations
// 'disabled' (the arithmetic the simulation computes) and compares the two levels' outputs;
// web/app/views/validation.js shows both beside the simulated SQNR. ORT is a stand-in here that
// records the sessions made and answers per level, so the numbers are known exactly.
import assert from 'node:assert/strict';
import test from 'node:test';
import { validateExport } from '../../web/app/validate.js';
import { renderValidation } from '../../web/app/views/validation.js';
import { createDocument } from './fake_dom.mjs';

globalThis.performance ??= { now: () => Date.now() };

/**
 * A fake onnxruntime-web: InferenceSession.create(bytes, options) gives a session whose output
 * 'y' is the input times `gain(bytes, level)`; `made` records [bytes tag, level] per session.
 */
function fakeOrt(gain, { failDisabled = false } = {}) {
  const made = [];
  const released = [];
  class Tensor { constructor(type, data, dims) { Object.assign(this, { type, data, dims }); } }
  const InferenceSession = {
    async create(bytes, options) {
      const level = options.graphOptimizationLevel;
      const tag = bytes.tag;
      made.push([tag, level]);
      if (failDisabled && tag === 'export' && level === 'disabled') throw new Error('no kernel');
      const g = gain(tag, level);
      return {
        inputNames: ['x'], outputNames: ['y'],
        async run(feeds) {
          const x = feeds.x;
          return { y: new Tensor('float32', Float32Array.from(x.data, (v) => v * g), [1, x.data.length]) };
        },
        async release() { released.push([tag, level]); },
      };
    },
  };
  return { ort: { Tensor, InferenceSession }, made, released };
}

const samples = [{ data: Float32Array.from([1, -2, 3, 0.5]), shape: [1, 4] }, { data: Float32Array.from([0.25, 4, -1, 2]), shape: [1, 4] }];
const floatModel = { bytes: Object.assign(new Uint8Array(1), { tag: 'float' }), externalFiles: [] };
const exported = Object.assign(new Uint8Array(1), { tag: 'export' });
const db = (ratio) => -10 * Math.log10(ratio);

test('validateExport: the export runs at ORT\'s default level and with optimisations disabled, both against the float model and against each other', async () => {
  // Float model exact; the export 1% off at 'disabled' and 3% off at 'all'.
  const { ort, made, released } = fakeOrt((tag, level) => (tag === 'float' ? 1 : level === 'disabled' ? 1.01 : 1.03));
  const v = await validateExport(floatModel, exported, samples, { ort });
  assert.deepEqual(made, [['float', 'all'], ['export', 'all'], ['export', 'disabled']], 'one extra session: the export at disabled');
  assert.equal(released.length, 3, 'every session released');
  assert.ok(Math.abs(v.sqnrDb - db(0.03 ** 2)) < 1e-3, `default level vs float: ${v.sqnrDb}`);
  assert.ok(Math.abs(v.disabledSqnrDb - db(0.01 ** 2)) < 1e-3, `disabled vs float: ${v.disabledSqnrDb}`);
  // 'all' vs 'disabled': y*1.03 against y*1.01, relative error 0.02/1.01.
  assert.ok(Math.abs(v.levelAgreementDb - db((0.02 / 1.01) ** 2)) < 1e-3, `levels: ${v.levelAgreementDb}`);
  assert.equal(v.disabledError, null);
  assert.equal(v.samples, 2);
});

test('validateExport: an export ORT cannot load with optimisations disabled still validates at the default level, and says why', async () => {
  const { ort, released } = fakeOrt((tag) => (tag === 'float' ? 1 : 1.01), { failDisabled: true });
  const v = await validateExport(floatModel, exported, samples, { ort });
  assert.ok(Number.isFinite(v.sqnrDb));
  assert.equal(v.disabledSqnrDb, null);
  assert.equal(v.levelAgreementDb, null);
  assert.match(v.disabledError, /optimisations disabled: no kernel/);
  assert.equal(released.length, 2);
});

test('views/validation: simulated SQNR beside ORT with optimisations off and at its default level, and the levels\' agreement', () => {
  const doc = createDocument();
  const v = { sqnrDb: 31.25, disabledSqnrDb: 34.5, levelAgreementDb: 38.04, disabledError: null, kind: 'classification',
    agreement: 1, top1Agreement: 1, rows: 8, samples: 8, ms: 1200 };
  const view = renderValidation(doc, v, 34.6);
  const off = view.byId('validate-disabled').textContent;
  const on = view.byId('validate-default').textContent;
  assert.match(off, /optimisations off/);
  assert.match(off, /34\.5 dB/);
  assert.match(off, /-0\.10 dB vs simulated/);
  assert.match(on, /default level/);
  assert.match(on, /31\.3 dB/);
  assert.match(on, /-3\.35 dB vs simulated/);
  assert.match(on, /agree with optimisations off to 38\.0 dB/);
  const grid = view.byId('validation');
  assert.equal(Number(grid.dataset.sqnrDisabled), 34.5);
  assert.equal(Number(grid.dataset.levelAgreement), 38.04);
  assert.equal(Number(grid.dataset.sqnr), 31.25, 'the default level stays the headline number the browser tests read');
  // Side by side: 'disabled' comes right before the default level, after the simulated SQNR.
  const ids = grid.children.map((c) => c.getAttribute('id'));
  assert.ok(ids.indexOf('validate-disabled') + 1 === ids.indexOf('validate-default'), `order: ${ids}`);
  // Identical outputs read as such.
  const same = renderValidation(doc, { ...v, disabledSqnrDb: Infinity, levelAgreementDb: Infinity }, Infinity);
  assert.match(same.byId('validate-default').textContent, /agree with optimisations off to ∞ \(identical\)/);
});

test('views/validation: without the disabled level the card says why and the default level stands alone', () => {
  const doc = createDocument();
  const v = { sqnrDb: 31.25, disabledSqnrDb: null, levelAgreementDb: null, disabledError: 'ONNX Runtime could not load the exported model with optimisations disabled: x',
    kind: 'dense', agreement: null, top1Agreement: null, rows: 0, samples: 2, ms: 10 };
  const view = renderValidation(doc, v, null);
  assert.match(view.byId('validate-disabled').textContent, /—.*could not load the exported model with optimisations disabled/);
  assert.doesNotMatch(view.byId('validate-default').textContent, /agree with/);
  assert.equal(view.byId('validation').dataset.sqnrDisabled, '');
});
