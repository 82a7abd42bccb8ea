// Small helpers for tests/browser/run.mjs: a checker that counts passes and failures (one failed
// check does not stop the run, so a broken page reports everything at once) and fixture loading.
import { isDeepStrictEqual } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export class Checker {
  constructor() {
    this.passed = 0;
    this.failed = 0;
  }

  ok(cond, label) {
    if (cond) {
      this.passed += 1;
      console.log(`  ok   ${label}`);
    } else {
      this.failed += 1;
      console.log(`  FAIL ${label}`);
    }
  }

  equal(actual, expected, label) {
    this.ok(actual === expected, actual === expected ? label
      : `${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }

  deepEqual(actual, expected, label) {
    const same = isDeepStrictEqual(actual, expected);
    this.ok(same, same ? label : `${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }

  /** Runs one scenario; an exception (e.g. a timeout) counts as one failure and the run goes on. */
  async step(name, fn) {
    console.log(`${name}`);
    try {
      await fn();
    } catch (e) {
      this.failed += 1;
      console.log(`  FAIL ${name}: ${e?.message?.split('\n')[0] ?? e}`);
      if (this.onFail) await this.onFail(name).catch(() => {});
    }
  }

  /** Prints the totals; returns the exit status. */
  report() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 && this.passed > 0 ? 0 : 1;
  }
}

/** {expected} of tests/browser/models/<name>.expected.json (written by tools/make_sample_model.py). */
export async function loadFixture(dir, name) {
  return { expected: JSON.parse(await readFile(join(dir, `${name}.expected.json`), 'utf8')) };
}
