// Small helpers for tests/browser/run.mjs: a checker that counts passes and failures (one failed
// check does not stop the run, so a broken page reports everything at once) and fixture loading.
import { isDeepStrictEqual } from 'node:util';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';

export class Checker {
  constructor() {
    this.passed = 0;
    this.failed = 0;
    this.failures = [];  // repeated by report(), so the end of a long log names what failed
  }

  ok(cond, label) {
    if (cond) {
      this.passed += 1;
      console.log(`  ok   ${label}`);
    } else {
      this.failed += 1;
      this.failures.push(label);
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
      this.failures.push(`${name}: ${e?.message?.split('\n')[0] ?? e}`);
      console.log(`  FAIL ${name}: ${e?.message?.split('\n')[0] ?? e}`);
      if (this.onFail) await this.onFail(name).catch(() => {});
    }
  }

  /** Prints the totals; returns the exit status. */
  report() {
    for (const f of this.failures) console.log(`FAILED: ${f}`);
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 && this.passed > 0 ? 0 : 1;
  }
}

/** {expected} of tests/browser/models/<name>.expected.json (written by tools/make_sample_model.py). */
export async function loadFixture(dir, name) {
  return { expected: JSON.parse(await readFile(join(dir, `${name}.expected.json`), 'utf8')) };
}

/** Debian's Chromium, driven by the tests. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * playwright-core's `chromium` for a browser test of the built site in `webDir`, which must hold
 * every file of `siteFiles`. A missing browser or playwright-core skips the test (exit 77), or
 * fails it when CI=true (the browser test must run there); a missing site fails it.
 */
export function browserOrSkip(root, webDir, siteFiles) {
  const missing = (what) => {
    if (process.env.CI === 'true') {
      console.error(`error: ${what} is missing (CI=true: the browser test must run)`);
      process.exit(1);
    }
    console.log(`skipped: ${what} is missing`);
    process.exit(77);
  };
  if (!existsSync(CHROMIUM)) missing(CHROMIUM);
  let chromium;
  try {
    ({ chromium } = createRequire(join(root, 'package.json'))('playwright-core'));
  } catch {
    missing('node_modules/playwright-core (run npm ci)');
  }
  if (!siteFiles.every((f) => existsSync(join(webDir, f)))) {
    console.error(`error: ${webDir} is not the built site (${siteFiles.join(' and ')} expected)`);
    process.exit(1);
  }
  return chromium;
}

/** A headless Chromium context with a fresh profile (no network beyond what the page asks). */
export async function launchChromium(chromium, viewport) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'quantmix-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { context, userDataDir };
}

/**
 * Aborts every request of `context` that leaves 127.0.0.1 (the app must make none beyond its own
 * static files) and records their URLs in `offOrigin` (returned), as they happen, for the test.
 */
export async function blockOffOrigin(context, offOrigin = []) {
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol.startsWith('http') && url.hostname !== '127.0.0.1') {
      offOrigin.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  return offOrigin;
}
