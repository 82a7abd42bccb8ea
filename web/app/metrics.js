// Output metrics for validating an exported model against the float one (amp.md section 3):
// SQNR_dB = 10 log10(sum y_fp^2 / sum (y_fp - y_q)^2) over all samples and elements, several
// outputs averaged as noise-to-signal ratios; an agreement of the first output's argmax chosen
// by the output's kind (outputKind):
// - classification [N, C] (or [C]): top-1 agreement per row;
// - sequence [N, T, C] (OCR/CTC, token logits): whole-sequence agreement — a sequence agrees when
//   the argmax is the same at every one of its T steps. Per-step agreement is reported beside it
//   but never as the headline: on a CTC model most steps are blank and agree even when the text
//   is wrong. Also beside it: agreement of the CTC-decoded sequences (repeats collapsed, class 0
//   as the blank, PaddleOCR's convention), which forgives a shifted alignment;
// - dense maps (rank 4 and more: segmentation, detection heads, features): no agreement, SQNR only.
// Pure; tests/js/app_logic.test.mjs checks them against closed forms.

/** Accumulates signal and noise energy per output across samples. */
export class SqnrAccumulator {
  constructor() {
    this.signal = new Map();
    this.noise = new Map();
    this.agree = 0;
    this.count = 0;
    this.kind = null;
    this.steps = 0;          // sequence: time steps compared
    this.stepsAgree = 0;
    this.decodedAgree = 0;   // sequence: CTC-decoded sequences equal
  }

  /**
   * ref, test: {name: Float32Array}. `shape`: the first output's dims (its kind picks the
   * agreement, outputKind), or a number = the class axis size (top-1 per row of that size).
   */
  add(ref, test, firstOutput = null, shape = null) {
    for (const [name, y] of Object.entries(ref)) {
      const q = test[name];
      if (!q || q.length !== y.length) throw new Error(`output '${name}': the exported model gives ${q?.length ?? 0} values, the float model ${y.length}`);
      let s = 0;
      let n = 0;
      for (let i = 0; i < y.length; ++i) { s += y[i] * y[i]; const d = y[i] - q[i]; n += d * d; }
      this.signal.set(name, (this.signal.get(name) ?? 0) + s);
      this.noise.set(name, (this.noise.get(name) ?? 0) + n);
    }
    if (!firstOutput || shape === null || shape === undefined) return;
    const kind = typeof shape === 'number' ? (shape > 1 ? 'classification' : 'dense') : outputKind(shape);
    this.kind = kind;
    const y = ref[firstOutput];
    const q = test[firstOutput];
    if (kind === 'classification') {
      const classes = typeof shape === 'number' ? shape : shape[shape.length - 1];
      for (let row = 0; row + classes <= y.length; row += classes) {
        this.agree += argmax(y, row, classes) === argmax(q, row, classes) ? 1 : 0;
        this.count += 1;
      }
    } else if (kind === 'sequence') {
      const [, steps, classes] = shape;
      for (let seq = 0; seq + steps * classes <= y.length; seq += steps * classes) {
        const a = [];
        const b = [];
        for (let t = 0; t < steps; ++t) {
          a.push(argmax(y, seq + t * classes, classes));
          b.push(argmax(q, seq + t * classes, classes));
        }
        const same = a.filter((v, t) => v === b[t]).length;
        this.steps += steps;
        this.stepsAgree += same;
        this.agree += same === steps ? 1 : 0;
        this.decodedAgree += ctcDecode(a).join() === ctcDecode(b).join() ? 1 : 0;
        this.count += 1;
      }
    }
  }

  /**
   * {sqnrDb (Infinity when exact; NaN when an output's reference is all zero and so is the
   * output: undefined, so it passes no floor), top1Agreement (null without a class axis), rows}.
   */
  result() {
    const ratios = [...this.signal.keys()].map((k) => {
      const s = this.signal.get(k);
      const n = this.noise.get(k);
      // No signal: any noise is infinitely large; none is undefined (NaN), not a perfect match.
      return s > 0 ? n / s : n > 0 ? Infinity : NaN;
    });
    const nsr = ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : 0;
    const agreement = this.count ? this.agree / this.count : null;
    return { sqnrDb: nsr === 0 ? Infinity : -10 * Math.log10(nsr), kind: this.kind,
             agreement, rows: this.count,
             // top-1 per row, for a classification output only (null otherwise).
             top1Agreement: this.kind === 'classification' ? agreement : null,
             stepAgreement: this.kind === 'sequence' && this.steps ? this.stepsAgree / this.steps : null,
             decodedAgreement: this.kind === 'sequence' && this.count ? this.decodedAgree / this.count : null };
  }
}

/**
 * What an output's argmax means, from its dims: 'classification' ([N, C] or [C], C > 1),
 * 'sequence' ([N, T, C], C > 1) or 'dense' (anything else: SQNR only).
 */
export function outputKind(dims) {
  const d = Array.from(dims ?? [], Number);
  const last = d[d.length - 1];
  if (!(last > 1)) return 'dense';
  if (d.length === 1 || d.length === 2) return 'classification';
  if (d.length === 3) return 'sequence';
  return 'dense';
}

/** CTC greedy decoding of an argmax path: repeats collapsed, then the blank (class 0) dropped. */
export function ctcDecode(path, blank = 0) {
  const out = [];
  for (let t = 0; t < path.length; ++t) if (path[t] !== blank && (t === 0 || path[t] !== path[t - 1])) out.push(path[t]);
  return out;
}

export function argmax(a, start = 0, n = a.length - start) {
  let best = start;
  for (let i = start + 1; i < start + n; ++i) if (a[i] > a[best]) best = i;
  return best - start;
}

/** A sample's shape made to fit a model input of `rank` dims: a leading 1 added if missing. */
export function conformShape(shape, rank) {
  if (shape.length === rank) return shape;
  if (shape.length === rank - 1) return [1, ...shape];
  throw new Error(`sample shape [${shape}] does not fit an input of rank ${rank}`);
}
