// Unit tests of the comparison rules (compare.mjs) and of the perturbation the self-check uses.
// Oracles are closed forms: hand-made arrays with known errors and a hand-computed SQNR.
import test from 'node:test';
import assert from 'node:assert/strict';
import { compareArrays, sqnrDb, TOLERANCES, MIN_SQNR_DB } from './compare.mjs';
import { makeArray } from './npy.mjs';
import { perturbArray, sanitize, summaryTable } from './harness.mjs';

const f32 = (shape, v) => makeArray('float32', shape, v);

test('compare: exact mode accepts identical values (NaN equals NaN, -0 equals 0)', () => {
  const e = f32([4], [1, NaN, -0, Infinity]);
  assert.equal(compareArrays(e, f32([4], [1, NaN, 0, Infinity]), 'exact').ok, true);
});

test('compare: exact mode rejects a one-ulp difference and names the index', () => {
  const e = f32([2, 2], [1, 2, 3, 4]);
  const a = f32([2, 2], [1, 2, 3, 4]);
  a.data[3] = Math.fround(4 + 2 ** -21);  // one float32 ulp above 4
  const r = compareArrays(e, a, 'exact');
  assert.equal(r.ok, false);
  assert.match(r.detail, /1\/4 elements differ \(exact\); first at \[1,1\]/);
});

test('compare: integer and bool outputs are exact whatever the tolerance name', () => {
  const e = makeArray('int64', [3], [1n, 2n, 3n]);
  assert.equal(compareArrays(e, makeArray('int64', [3], [1n, 2n, 3n]), 'accumulate').ok, true);
  assert.equal(compareArrays(e, makeArray('int64', [3], [1n, 2n, 4n]), 'accumulate').ok, false);
  const b = makeArray('bool', [2], [1, 0]);
  assert.equal(compareArrays(b, makeArray('bool', [2], [1, 1]), 'onnx_backend').ok, false);
});

test('compare: dtype and shape must match exactly', () => {
  const e = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  assert.match(compareArrays(e, f32([3, 2], [1, 2, 3, 4, 5, 6]), 'exact').detail, /shape \[3,2\], expected \[2,3\]/);
  assert.match(compareArrays(e, makeArray('float64', [2, 3], [1, 2, 3, 4, 5, 6]), 'elementwise').detail, /dtype float64/);
  assert.match(compareArrays(f32([1], [1]), f32([], [1]), 'exact').detail, /shape/);  // [1] is not a scalar
});

test('compare: tolerance bound is atol + rtol |expected|, per element', () => {
  const { atol, rtol } = TOLERANCES.accumulate;
  const e = f32([2], [100, 0]);
  const inside = f32([2], [100 + 0.9 * (atol + rtol * 100), 0.9 * atol]);
  const outside = f32([2], [100, 1.5 * atol]);
  assert.equal(compareArrays(e, inside, 'accumulate').ok, true);
  const r = compareArrays(e, outside, 'accumulate');
  assert.equal(r.ok, false);
  assert.match(r.detail, /1\/2 elements outside accumulate.*worst at \[1\]/);
});

test('compare: SQNR below 80 dB fails even when every element is inside the tolerance', () => {
  // Every element off by 1.05e-4 relative: inside accumulate (1e-5 + 1e-4 |e|) but the SQNR is
  // 20 log10(1 / 1.05e-4) = 79.6 dB. With 0.9e-4 it is 80.9 dB and passes.
  const n = 64;
  const e = f32([n], new Array(n).fill(1));
  const bad = f32([n], new Array(n).fill(1 + 1.05e-4));
  const good = f32([n], new Array(n).fill(1 + 0.9e-4));
  const rb = compareArrays(e, bad, 'accumulate');
  assert.equal(rb.ok, false);
  assert.match(rb.detail, /^SQNR 79\.\d dB < 80 dB/);
  assert.equal(compareArrays(e, good, 'accumulate').ok, true);
  assert.equal(MIN_SQNR_DB, 80);
});

test('compare: sqnrDb matches the closed form; inf/NaN must match exactly', () => {
  const e = [3, 4];            // signal 25
  const a = [3.1, 4];          // noise 0.01 -> 10 log10(2500) = 33.98 dB
  assert.ok(Math.abs(sqnrDb(e, a) - 10 * Math.log10(2500)) < 1e-9);
  assert.equal(sqnrDb(e, e), Infinity);
  assert.equal(sqnrDb([0, 0], [0, 1e-3]), -Infinity);  // zero signal, any noise
  assert.ok(Number.isNaN(sqnrDb([0, 0], [0, 0])), 'two all-zero outputs: undefined, never a pass');
  assert.ok(!(sqnrDb([0, 0], [0, 0]) >= 0));
  assert.equal(compareArrays(f32([2], [Infinity, 1]), f32([2], [3.4e38, 1]), 'resize').ok, false);
  assert.equal(compareArrays(f32([2], [NaN, 1]), f32([2], [0, 1]), 'resize').ok, false);
  assert.equal(compareArrays(f32([2], [-Infinity, 1]), f32([2], [-Infinity, 1]), 'resize').ok, true);
});

test('compare: onnx_backend uses rtol 1e-3 and no SQNR bound', () => {
  const e = f32([2], [1000, 1]);
  assert.equal(compareArrays(e, f32([2], [1000.9, 1.0009]), 'onnx_backend').ok, true);
  assert.equal(compareArrays(e, f32([2], [1001.1, 1]), 'onnx_backend').ok, false);
});

test('perturbArray: every dtype and every tolerance notices it', () => {
  const arrays = [
    f32([3], [0, 1e-30, -5]), f32([1], [0]), makeArray('float64', [2], [1, 2]),
    makeArray('int64', [2], [9223372036854775807n, 0n]), makeArray('int32', [1], [2147483647]),
    makeArray('uint8', [3], [255, 255, 255]), makeArray('int8', [1], [127]), makeArray('uint16', [1], [65535]),
    makeArray('bool', [2], [1, 1]), makeArray('float32', [3, 0], []), makeArray('int64', [0], []),
  ];
  for (const arr of arrays) {
    for (const mode of ['exact', ...Object.keys(TOLERANCES)]) {
      assert.equal(compareArrays(arr, perturbArray(arr), mode).ok, false, `${arr.dtype}[${arr.shape}] ${mode}`);
    }
  }
});

test('sanitize: the cli.md output file name rule', () => {
  assert.equal(sanitize('out/0:x y'), 'out_0_x_y');
  assert.equal(sanitize('Conv_1.out-2'), 'Conv_1.out-2');
  assert.equal(sanitize('ü'), '_');
});

test('summaryTable: one row per op, totals', () => {
  const t = summaryTable([{ op: 'Conv', status: 'pass' }, { op: 'Conv', status: 'fail' }, { op: 'Add', status: 'skip' }]);
  const rows = t.split('\n');
  assert.match(rows[0], /passed\s+failed\s+skipped/);
  assert.match(rows[1], /^Add\s+0\s+0\s+1$/);
  assert.match(rows[2], /^Conv\s+1\s+1\s+0$/);
  assert.match(rows[3], /^TOTAL\s+1\s+1\s+1$/);
});
