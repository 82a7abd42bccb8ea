// Number and shape formatting for the UI. Pure functions (no DOM), covered by tests/js/format.test.mjs.
// Output does not depend on the browser's locale, so the page and the tests agree everywhere.

const UNITS = ['', 'K', 'M', 'G', 'T', 'P'];

/** Groups digits in threes with commas: 111562 -> "111,562". */
export function formatInteger(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.round(Math.abs(Number(n))));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A count in human units with three significant digits: 640 -> "640", 28224 -> "28.2 K",
 * 794048 -> "794 K", 1.5e9 -> "1.50 G". null/undefined -> "—" (unknown).
 */
export function formatCount(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
  let v = Number(n);
  const sign = v < 0 ? '-' : '';
  v = Math.abs(v);
  if (v < 1000) return sign + String(Math.round(v));
  let unit = 0;
  while (v >= 999.5 && unit < UNITS.length - 1) { v /= 1000; unit += 1; }
  const digits = v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${UNITS[unit]}`;
}

/** Bytes in binary units: 450770 -> "440 KiB". */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '—';
  let v = Number(n);
  if (v < 1024) return `${Math.round(v)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let unit = -1;
  while (v >= 1023.95 && unit < units.length - 1) { v /= 1024; unit += 1; }
  const digits = v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[unit]}`;
}

/** A fraction in [0, 1] as a percentage: 0.5687 -> "56.9%", 0.0004 -> "<0.1%", 0 -> "0%". */
export function formatPercent(fraction) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  if (fraction === 0) return '0%';
  const pct = fraction * 100;
  if (pct < 0.1) return '<0.1%';
  return `${pct >= 99.95 ? '100' : pct.toFixed(1)}%`;
}

/**
 * One dimension as shown to users. Accepts the report's forms: a number, a symbol string, null
 * (unknown), or {value, symbol}.
 */
export function formatDim(d) {
  if (d === null || d === undefined) return '?';
  if (typeof d === 'number' || typeof d === 'bigint') return String(d);
  if (typeof d === 'string') return d === '' ? '?' : d;
  if (typeof d === 'object') {
    if (d.value !== undefined && d.value !== null) return String(d.value);
    if (d.symbol) return d.symbol;
    if (d.param) return d.param;
  }
  return '?';
}

/** [1, 3, "H", null] -> "1×3×H×?"; [] -> "scalar"; null -> "unknown rank". */
export function formatShape(shape) {
  if (shape === null || shape === undefined) return 'unknown rank';
  if (!Array.isArray(shape)) return String(shape);
  if (shape.length === 0) return 'scalar';
  return shape.map(formatDim).join('×');
}

/** True when every dimension of the shape is a known number. */
export function isStaticShape(shape) {
  return Array.isArray(shape) && shape.every((d) => typeof d === 'number'
    || (d !== null && typeof d === 'object' && typeof d.value === 'number'));
}
