// Output metrics for validating an exported model against the float one (amp.md section 3):
// SQNR_dB = 10 log10(sum y_fp^2 / sum (y_fp - y_q)^2) over all samples and elements, several
// outputs averaged as noise-to-signal ratios; top-1 agreement of the first output's argmax.
// Pure; tests/js/metrics.test.mjs checks them against closed forms.

/** Accumulates signal and noise energy per output across samples. */
export class SqnrAccumulator {
  constructor() {
    this.signal = new Map();
    this.noise = new Map();
    this.agree = 0;
    this.count = 0;
  }

  /** ref, test: {name: Float32Array}; `classAxisSize` = last dim of the first output (top-1). */
  add(ref, test, firstOutput = null, classes = null) {
    for (const [name, y] of Object.entries(ref)) {
      const q = test[name];
      if (!q || q.length !== y.length) throw new Error(`output '${name}': the exported model gives ${q?.length ?? 0} values, the float model ${y.length}`);
      let s = 0;
      let n = 0;
      for (let i = 0; i < y.length; ++i) { s += y[i] * y[i]; const d = y[i] - q[i]; n += d * d; }
      this.signal.set(name, (this.signal.get(name) ?? 0) + s);
      this.noise.set(name, (this.noise.get(name) ?? 0) + n);
    }
    if (firstOutput && classes && classes > 1) {
      const y = ref[firstOutput];
      const q = test[firstOutput];
      for (let row = 0; row + classes <= y.length; row += classes) {
        this.agree += argmax(y, row, classes) === argmax(q, row, classes) ? 1 : 0;
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
    return { sqnrDb: nsr === 0 ? Infinity : -10 * Math.log10(nsr),
             top1Agreement: this.count ? this.agree / this.count : null, rows: this.count };
  }
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
