// The inspect report (JSON from api::inspect_to_json) turned into what the summary view shows:
// pure data in, pure data out, so node --test covers it without a browser
// (tests/js/report.test.mjs). Rendering lives in views/summary.js.
import { formatBytes, formatCount, formatInteger, formatPercent, formatShape } from '../format.js';

const DEFAULT_DOMAIN = 'ai.onnx';

/** A dimension as number | string (symbol) | null (unknown). */
function normalizeDim(d) {
  if (typeof d === 'number') return d;
  if (typeof d === 'string') return d === '' ? null : d;
  if (d && typeof d === 'object') {
    if (typeof d.value === 'number') return d.value;
    if (d.symbol) return d.symbol;
    if (d.param) return d.param;
  }
  return null;
}

function normalizeValue(v) {
  return {
    name: String(v.name ?? ''),
    dtype: String(v.dtype ?? v.type ?? '?'),
    shape: Array.isArray(v.shape) ? v.shape.map(normalizeDim) : null,
  };
}

/** [["", 13]] | [{domain, version}] | {"": 13} -> [{domain, version}] with "" shown as ai.onnx. */
function normalizePairs(value, keyName, countName) {
  let pairs = [];
  if (Array.isArray(value)) {
    pairs = value.map((p) => (Array.isArray(p) ? [p[0], p[1]]
      : [p[keyName] ?? p.name ?? p.op ?? p.domain ?? '', p[countName] ?? p.count ?? p.version]));
  } else if (value && typeof value === 'object') {
    pairs = Object.entries(value);
  }
  return pairs.map(([k, n]) => ({ key: String(k ?? ''), n: Number(n) }));
}

function numberOrNull(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Accepts the report as a JSON string or object and returns one consistent shape:
 * {file, irVersion, producer, inputs, outputs, opsets: [{domain, version}], ops: [{op, count}],
 *  params, macs, layers: [{name, op, weightShape, macs}], unsupported, warnings}.
 */
export function normalizeReport(json) {
  const r = typeof json === 'string' ? JSON.parse(json) : (json ?? {});
  return {
    file: String(r.file ?? ''),
    irVersion: numberOrNull(r.ir_version ?? r.irVersion),
    producer: String(r.producer ?? '').trim(),
    inputs: (r.inputs ?? []).map(normalizeValue),
    outputs: (r.outputs ?? []).map(normalizeValue),
    opsets: normalizePairs(r.opsets ?? r.opset_import, 'domain', 'version')
      .map(({ key, n }) => ({ domain: key === '' ? DEFAULT_DOMAIN : key, version: n })),
    ops: normalizePairs(r.ops, 'op', 'count').map(({ key, n }) => ({ op: key, count: n })),
    params: numberOrNull(r.params),
    batch: numberOrNull(r.batch),
    macs: numberOrNull(r.macs),
    layers: (r.layers ?? []).map((l) => ({
      name: String(l.name ?? ''),
      op: String(l.op ?? ''),
      weightShape: Array.isArray(l.weight_shape ?? l.weightShape) ? (l.weight_shape ?? l.weightShape) : [],
      macs: numberOrNull(l.macs),
    })),
    unsupported: (r.unsupported ?? []).map(String),
    warnings: (r.warnings ?? []).map(String),
  };
}

/** "ai.onnx 13 · com.microsoft 1" */
export function formatOpsets(opsets) {
  return opsets.map((o) => `${o.domain} ${o.version}`).join(' · ');
}

/** The model line under the file name: producer, IR version, opsets, file size. */
export function modelMeta(report, fileBytes = null) {
  const parts = [];
  if (report.producer) parts.push(report.producer);
  if (report.irVersion !== null) parts.push(`IR ${report.irVersion}`);
  if (report.opsets.length) parts.push(`opset ${formatOpsets(report.opsets)}`);
  if (fileBytes !== null && fileBytes !== undefined) parts.push(formatBytes(fileBytes));
  return parts;
}

/** The four headline numbers. `exact` is the full number (shown on hover and used by tests). */
export function summaryCards(report) {
  const nodes = report.ops.reduce((s, o) => s + o.count, 0);
  const byOp = new Map();
  for (const l of report.layers) byOp.set(l.op, (byOp.get(l.op) ?? 0) + 1);
  const unknownLayers = report.layers.filter((l) => l.macs === null).length;
  return [
    { id: 'params', label: 'Parameters', value: formatCount(report.params),
      exact: report.params,
      detail: report.params === null ? 'unknown'
        : `${formatInteger(report.params)} · ${formatBytes(report.params * 4)} as float32` },
    { id: 'macs', label: 'MACs per sample', value: formatCount(report.macs), exact: report.macs,
      detail: report.macs !== null
        ? formatInteger(report.macs) + (report.batch > 1 ? ` · model batch ${report.batch} divided out` : '')
        : unknownLayers ? `${unknownLayers} layer${unknownLayers > 1 ? 's' : ''} with unknown shapes`
          : 'unknown' },
    { id: 'layers', label: 'Weighted layers', value: String(report.layers.length),
      exact: report.layers.length,
      detail: [...byOp].map(([op, n]) => `${n} ${op}`).join(' · ') || 'none' },
    { id: 'nodes', label: 'Nodes', value: formatInteger(nodes), exact: nodes,
      detail: `${report.ops.length} op type${report.ops.length === 1 ? '' : 's'}` },
  ];
}

/** Rows of the op histogram, most frequent first; `fraction` is relative to the largest bar. */
export function opBars(report) {
  const unsupported = new Set(report.unsupported);
  const max = Math.max(1, ...report.ops.map((o) => o.count));
  return report.ops
    .map((o, i) => ({ op: o.op, count: o.count, fraction: o.count / max,
                      unsupported: unsupported.has(o.op), order: i }))
    .sort((a, b) => b.count - a.count || a.order - b.order)
    .map(({ order, ...row }) => row);
}

/**
 * Rows of the per-layer table in graph order. `share` is the layer's fraction of the model's
 * total MACs; null when the total is unknown (a dynamic input before its shape is set: the
 * layers known then are often the tiny ones, and their share of each other would mislead).
 */
export function layerRows(report) {
  const total = report.macs;
  return report.layers.map((l, i) => {
    const share = l.macs === null || !total ? null : l.macs / total;
    return {
      index: i + 1,
      name: l.name,
      op: l.op,
      weightShape: l.weightShape.length ? formatShape(l.weightShape) : '—',
      macs: formatCount(l.macs),
      macsExact: l.macs,
      share,
      shareText: formatPercent(share),
    };
  });
}

/** Rows of the inputs/outputs table. `dynamic` marks shapes with unknown dimensions. */
export function valueRows(values) {
  return values.map((v) => ({
    name: v.name,
    dtype: v.dtype,
    shape: formatShape(v.shape),
    dynamic: !Array.isArray(v.shape) || v.shape.some((d) => typeof d !== 'number'),
  }));
}

/** True when some model input has a dimension only an input shape can fix. */
export function hasDynamicInputs(report) {
  return valueRows(report.inputs).some((r) => r.dynamic);
}
