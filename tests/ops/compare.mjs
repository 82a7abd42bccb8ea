// Comparison of an engine output with the oracle's: exact for integer/bool outputs and for ops
// that only move or select values; otherwise elementwise |a - e| <= atol + rtol |e| under a named
// tolerance AND an output SQNR of at least MIN_SQNR_DB.

/** Output SQNR required of float outputs in the op oracle (dB). */
export const MIN_SQNR_DB = 80;

/**
 * Named tolerances. The generator (tools/op_models/*.py) tags each case with one of these names
 * (or 'exact'); the values live only here.
 *   elementwise     one or two roundings per element (arithmetic, Dequantize, PRelu, HardSigmoid)
 *   transcendental  exp/log/erf/tanh/sigmoid/pow/softmax: libm vs SIMD approximations, a few ulp
 *   accumulate      sums of many products (Conv, Gemm, MatMul, reductions, average pools) and the
 *                   normalizations: summation order and formula (e.g. BatchNorm folded into
 *                   x*a + c) are the engine's choice. Checked: float64 references of Conv, Gemm,
 *                   MatMul, Softmax, norms are within these bounds of ORT with SQNR >= 130 dB.
 *   resize          linear/cubic interpolation weights computed in a different order
 *   onnx_backend    ONNX's own backend test runner default (rtol 1e-3, atol 1e-7); its expected
 *                   outputs come from NumPy references, not from ORT, so no SQNR bound
 */
export const TOLERANCES = {
  elementwise: { atol: 1e-6, rtol: 1e-6, minSqnrDb: MIN_SQNR_DB },
  transcendental: { atol: 1e-6, rtol: 1e-5, minSqnrDb: MIN_SQNR_DB },
  accumulate: { atol: 1e-5, rtol: 1e-4, minSqnrDb: MIN_SQNR_DB },
  resize: { atol: 1e-5, rtol: 1e-5, minSqnrDb: MIN_SQNR_DB },
  onnx_backend: { atol: 1e-7, rtol: 1e-3, minSqnrDb: null },
};

const FLOAT_TYPES = new Set(['float32', 'float64']);

/**
 * 10 log10(sum e^2 / sum (a - e)^2) over finite expected values; Infinity when equal. Without
 * signal (every finite expected value 0) it is undefined: NaN when the actual values are 0 too,
 * so two all-zero outputs never pass a floor (NaN >= x is false), -Infinity otherwise.
 */
export function sqnrDb(expected, actual) {
  let signal = 0; let noise = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (!Number.isFinite(e)) continue;
    signal += e * e;
    const d = actual[i] - e;
    noise += d * d;
  }
  if (Number.isNaN(noise)) return -Infinity;
  if (signal === 0) return noise === 0 ? NaN : -Infinity;
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

function fmt(v) {
  return typeof v === 'bigint' ? `${v}` : Number.isInteger(v) ? `${v}` : v.toPrecision(9);
}

function indexOf(shape, flat) {
  const idx = [];
  for (let d = shape.length - 1; d >= 0; d--) { idx.unshift(flat % shape[d]); flat = Math.floor(flat / shape[d]); }
  return `[${idx.join(',')}]`;
}

/**
 * Compares one output.
 * @param {{dtype, shape, data}} expected  the oracle's array
 * @param {{dtype, shape, data}} actual    the engine's array
 * @param {string} mode  'exact' or a key of TOLERANCES
 * @returns {{ok: boolean, detail: string, maxAbs?: number, maxRel?: number, sqnrDb?: number}}
 */
export function compareArrays(expected, actual, mode) {
  if (actual.dtype !== expected.dtype) {
    return { ok: false, detail: `dtype ${actual.dtype}, expected ${expected.dtype}` };
  }
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return { ok: false, detail: `shape [${actual.shape}], expected [${expected.shape}]` };
  }
  const e = expected.data; const a = actual.data;
  const n = e.length;
  const exact = mode === 'exact' || !FLOAT_TYPES.has(expected.dtype);
  if (exact) {
    let bad = 0; let first = -1;
    for (let i = 0; i < n; i++) {
      const same = e[i] === a[i] || (typeof e[i] === 'number' && Number.isNaN(e[i]) && Number.isNaN(a[i]));
      if (!same) { bad++; if (first < 0) first = i; }
    }
    if (bad) {
      return { ok: false, detail: `${bad}/${n} elements differ (exact); first at ${indexOf(expected.shape, first)}: ` +
        `got ${fmt(a[first])}, expected ${fmt(e[first])}` };
    }
    return { ok: true, detail: 'exact' };
  }
  const tol = TOLERANCES[mode];
  if (!tol) throw new Error(`unknown tolerance '${mode}'`);
  let maxAbs = 0; let maxRel = 0; let bad = 0; let worst = -1; let worstExcess = 0;
  for (let i = 0; i < n; i++) {
    const ev = e[i]; const av = a[i];
    if (!Number.isFinite(ev) || !Number.isFinite(av)) {
      // inf and NaN must match exactly (same sign of inf, NaN where NaN).
      const same = ev === av || (Number.isNaN(ev) && Number.isNaN(av));
      if (!same) { bad++; if (worst < 0 || worstExcess !== Infinity) { worst = i; worstExcess = Infinity; } }
      continue;
    }
    const d = Math.abs(av - ev);
    maxAbs = Math.max(maxAbs, d);
    if (ev !== 0) maxRel = Math.max(maxRel, d / Math.abs(ev));
    const excess = d - (tol.atol + tol.rtol * Math.abs(ev));
    if (excess > 0) {
      bad++;
      if (excess > worstExcess) { worst = i; worstExcess = excess; }
    }
  }
  const sqnr = sqnrDb(e, a);
  const stats = `max abs ${maxAbs.toExponential(2)}, max rel ${maxRel.toExponential(2)}, SQNR ${sqnr === Infinity ? 'inf' : Number.isNaN(sqnr) ? 'undefined (zero signal)' : sqnr.toFixed(1)} dB`;
  if (bad) {
    return { ok: false, maxAbs, maxRel, sqnrDb: sqnr,
      detail: `${bad}/${n} elements outside ${mode} (atol ${tol.atol}, rtol ${tol.rtol}); worst at ` +
        `${indexOf(expected.shape, worst)}: got ${fmt(a[worst])}, expected ${fmt(e[worst])}; ${stats}` };
  }
  if (tol.minSqnrDb !== null && sqnr < tol.minSqnrDb) {
    return { ok: false, maxAbs, maxRel, sqnrDb: sqnr, detail: `SQNR ${sqnr.toFixed(1)} dB < ${tol.minSqnrDb} dB; ${stats}` };
  }
  return { ok: true, maxAbs, maxRel, sqnrDb: sqnr, detail: stats };
}
