// The page's URL parameters (web/app/embed_params.js) against hostile input, and the URL that the
// <quantmix-demo> element (web/embed.js, a classic script) builds from its attributes. The
// Chromium side (a foreign page embedding the app) is tests/browser/embed_labels.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { BUNDLED_SAMPLES, expandRange, MAX_SAMPLE_URLS, PANELS, parseEmbedParams, sameOriginUrl } from '../../web/app/embed_params.js';

const PAGE = 'http://127.0.0.1:8080/quantmix/index.html';
const parse = (query) => parseEmbedParams(query, PAGE);
const oneLine = (p) => typeof p === 'string' && !/[\n\r]/.test(p) && p.length < 400;

test('embed params: a plain visit configures nothing and says nothing', () => {
  for (const q of ['', '?', '?demo', '?empty', '?utm_source=news&fbclid=x']) {
    const { config, problems } = parse(q);
    assert.deepEqual(problems, [], q);
    assert.equal(config.model, null);
    assert.equal(config.autorun, false);
    assert.deepEqual([...config.panels], PANELS);
  }
  assert.equal(parse('?demo').config.demo, true);
  assert.equal(parse('?empty').config.empty, true);
});

test('embed params: a full configuration', () => {
  const { config, problems } = parse('?embed&autorun=1&model=models/m.onnx&samples=calib/{000..015}.png,extra/a.npy'
    + '&labels=calib/labels.txt&score=metrics/ctc.mjs&candidates=w4a8,W8A8&target=sqnr-drop=1.5&profile=npu&max-samples=16&preprocess=unit'
    + '&input-shapes=x=1x3x48x320&panels=settings,results');
  assert.deepEqual(problems, []);
  assert.equal(config.embed, true);
  assert.equal(config.autorun, true);
  assert.equal(config.model, 'http://127.0.0.1:8080/quantmix/models/m.onnx');
  assert.equal(config.samples.length, 17);
  assert.equal(config.samples[0], 'http://127.0.0.1:8080/quantmix/calib/000.png');
  assert.equal(config.samples[15], 'http://127.0.0.1:8080/quantmix/calib/015.png');
  assert.equal(config.samples[16], 'http://127.0.0.1:8080/quantmix/extra/a.npy');
  assert.equal(config.labels, 'http://127.0.0.1:8080/quantmix/calib/labels.txt');
  assert.equal(config.score, 'http://127.0.0.1:8080/quantmix/metrics/ctc.mjs');
  assert.deepEqual(config.candidates, ['W4A8', 'W8A8']);
  assert.equal(config.target, 'sqnr-drop=1.5');
  assert.equal(config.targetKind, 'sqnr-drop');
  assert.equal(config.targetValue, '1.5');
  assert.equal(config.profile, 'npu');
  assert.equal(config.maxSamples, 16);
  assert.equal(config.preprocess, 'unit');
  assert.equal(config.inputShapes, 'x=1x3x48x320');
  assert.deepEqual([...config.panels], ['settings', 'results']);
  // Root-relative and repeated samples= work too; bundled names the sample's images.
  assert.deepEqual(parse('?samples=/a.png&samples=b.png').config.samples,
    ['http://127.0.0.1:8080/a.png', 'http://127.0.0.1:8080/quantmix/b.png']);
  assert.equal(parse('?samples=bundled').config.samples, BUNDLED_SAMPLES);
});

test('embed params: file URLs must stay on the page\'s origin (hostile values refused, one line each)', () => {
  const hostile = [
    'https://evil.example/m.onnx', 'http://evil.example/m.onnx', '//evil.example/m.onnx', '/\\evil.example/m.onnx',
    '\\\\evil.example\\m.onnx', 'http://127.0.0.1:8081/m.onnx', 'https://127.0.0.1:8080/m.onnx', 'http://localhost:8080/m.onnx',
    'javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'java\nscript:alert(1)',
    'data:application/octet-stream;base64,AAAA', 'blob:http://127.0.0.1:8080/1234', 'file:///etc/passwd',
    'ftp://127.0.0.1:8080/m.onnx', 'http://user:pw@127.0.0.1:8080/m.onnx', 'http://127.0.0.1:8080@evil.example/m.onnx',
    'http://[::1]/x', 'http://%zz', '\u0000', `a${'x'.repeat(5000)}`, '',
  ];
  for (const v of hostile) {
    for (const param of ['model', 'labels', 'score']) {
      const { config, problems } = parse(`?${new URLSearchParams({ [param]: v })}`);
      assert.equal(config[param], null, `${param}=${JSON.stringify(v)} must be refused`);
      assert.ok(problems.length >= 1 && problems.every(oneLine), `${param}=${JSON.stringify(v)}: ${JSON.stringify(problems)}`);
      assert.ok(problems[0].startsWith(`${param}:`), problems[0]);
      assert.ok(config.refused.has(param));
    }
    const s = parse(`?${new URLSearchParams({ samples: `ok.png,${v}` })}`);
    if (v.trim() && !v.includes(',')) assert.equal(s.config.samples, null, `samples with ${JSON.stringify(v)} must be refused`);
  }
  // The message names the foreign origin and the page's own.
  const m = parse('?model=https://evil.example/m.onnx').problems[0];
  assert.match(m, /another origin \(https:\/\/evil\.example\).*own origin only \(http:\/\/127\.0\.0\.1:8080\)/);
  assert.match(parse('?model=javascript:alert(1)').problems[0], /uses javascript:/);
  // Traversal stays on the origin: it is only a path (the server answers for it).
  assert.equal(sameOriginUrl('../../../etc/passwd', PAGE, 'model'), 'http://127.0.0.1:8080/etc/passwd');
});

test('embed params: ranges are bounded', () => {
  assert.deepEqual(expandRange('a/{8..11}.png'), ['a/8.png', 'a/9.png', 'a/10.png', 'a/11.png']);
  assert.deepEqual(expandRange('a/{08..11}.png'), ['a/08.png', 'a/09.png', 'a/10.png', 'a/11.png']);
  assert.deepEqual(expandRange('plain.png'), ['plain.png']);
  for (const bad of ['{0..999999}.png', '{5..1}.png', '{0..1}{0..1}.png', '{a..b}.png', '{0..}.png', 'x}.png']) {
    assert.throws(() => expandRange(bad), (e) => oneLine(e.message) && e.message.startsWith('samples:'), bad);
  }
  const { config, problems } = parse(`?samples=${encodeURIComponent(`a/{0..${MAX_SAMPLE_URLS - 1}}.png,b.png`)}`);
  assert.equal(config.samples, null);
  assert.ok(problems.length === 1 && /at most|more than/.test(problems[0]), problems[0]);
  assert.equal(parse(`?samples=a/{0..${MAX_SAMPLE_URLS - 1}}.png`).config.samples.length, MAX_SAMPLE_URLS);
});

test('embed params: bad values are one line naming the parameter, and nothing else is lost', () => {
  const cases = {
    candidates: ['W3A8', 'W8A8;alert(1)', '<img src=x>', '', 'W4A8,,W99A8'],
    target: ['abc', 'bops', 'bops=', 'bops=abc', 'bops=1e999', 'bops=-1', 'foo=1', 'bops=0.5;x', '<script>'],
    bits: ['W3A3', 'mixed', ''],
    profile: ['tpu', '__proto__', ''],
    'max-samples': ['0', '65', '1.5', '-1', '1e3', 'x', ''],
    preprocess: ['constructor', 'imagenet2', ''],
    'input-shapes': ['x=1x3x48xW', '=', 'x'],
    panels: ['results,<b>', 'nope', ',', ''],
    autorun: ['maybe'],
    embed: ['2'],
  };
  for (const [param, values] of Object.entries(cases)) {
    for (const v of values) {
      const query = new URLSearchParams({ [param]: v });
      if (param !== 'autorun') query.set('autorun', '');
      const { config, problems } = parse(`?${query}`);
      assert.ok(problems.length >= 1, `${param}=${JSON.stringify(v)} must give a problem`);
      assert.ok(problems.every(oneLine), JSON.stringify(problems));
      assert.ok(problems.some((p) => p.startsWith(`${param}:`)), `${param}=${JSON.stringify(v)}: ${JSON.stringify(problems)}`);
      // The other settings keep their defaults (never a half-applied value).
      if (param === 'candidates') assert.equal(config.candidates, null);
      if (param === 'target') assert.equal(config.target, null);
      if (param === 'panels') assert.deepEqual([...config.panels], PANELS);
    }
  }
  // Quoted values are cut and control characters shown as '?': the line stays one line.
  const long = parse(`?${new URLSearchParams({ bits: `${'A'.repeat(300)}\n<x>` })}`).problems[0];
  assert.ok(oneLine(long) && long.includes('...'), long);
  // Unknown names are reported on a configured page, once each, and never crash the parser.
  const u = parse('?autorun&autorn&autorn&__proto__=1&constructor=x');
  assert.deepEqual(u.problems.map((p) => p.split(':')[0]), ['autorn', '__proto__', 'constructor']);
  // A parameter given twice: the first is used, and it is said.
  const twice = parse('?target=bops=0.5&target=bops=0.9');
  assert.equal(twice.config.target, 'bops=0.5');
  assert.ok(twice.problems[0].startsWith('target: given more than once'));
  // A huge value is refused without being parsed.
  const huge = parse(`?candidates=${'W8A8,'.repeat(2000)}`);
  assert.ok(huge.problems.some((p) => p.startsWith('candidates:')));
  // Hidden settings without autorun: said, since nothing could start a run.
  assert.ok(parse('?panels=results').problems.some((p) => p.startsWith('panels:')));
  assert.deepEqual(parse('?panels=results&autorun').problems, []);
  // Labels need the samples they label.
  assert.ok(parse('?labels=l.txt').problems.some((p) => p.startsWith('labels:')));
  assert.ok(parse('?model=m.onnx&samples=bundled').problems.some((p) => p.startsWith('samples:')));
});

/** web/embed.js in a sandbox: the classic script exposes QuantmixEmbed.embedUrl without a DOM. */
function loadEmbedScript() {
  const file = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'web', 'embed.js');
  const sandbox = { URL, URLSearchParams, location: { href: 'http://docs.example/page.html' } };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(readFileSync(file, 'utf8'), sandbox);
  return sandbox.QuantmixEmbed;
}

test('embed.js: attributes become the app URL\'s parameters, encoded', () => {
  const { embedUrl } = loadEmbedScript();
  const base = 'https://apps.example/quantmix/embed.js';
  const url = new URL(embedUrl({ autorun: '', target: 'bops=0.6', candidates: 'W4A8,W8A8', panels: 'settings,results',
    samples: 'samples/labelled/{000..031}.png', labels: 'samples/labelled/labels.txt', model: null }, base));
  assert.equal(url.origin + url.pathname, 'https://apps.example/quantmix/');
  assert.equal(url.searchParams.get('embed'), '1');
  assert.equal(url.searchParams.get('autorun'), '');
  assert.equal(url.searchParams.get('target'), 'bops=0.6');
  assert.equal(url.searchParams.get('samples'), 'samples/labelled/{000..031}.png');
  assert.ok(!url.searchParams.has('model'));
  // The page parses what the element builds back into the same configuration.
  const { config, problems } = parseEmbedParams(url.search, url.href);
  assert.deepEqual(problems, []);
  assert.equal(config.samples.length, 32);
  assert.equal(config.target, 'bops=0.6');
  // A flag set to "false" is off; hostile attribute values are only encoded (the page refuses them).
  assert.ok(!new URL(embedUrl({ autorun: 'false' }, base)).searchParams.has('autorun'));
  const evil = new URL(embedUrl({ model: 'javascript:alert(1)', target: '"><script>x</script>' }, base));
  assert.equal(evil.origin, 'https://apps.example');
  assert.equal(evil.searchParams.get('model'), 'javascript:alert(1)');
  assert.ok(parseEmbedParams(evil.search, evil.href).problems.some((p) => p.startsWith('model:')));
  // app= may point elsewhere (the author's choice), but only over http(s).
  assert.equal(new URL(embedUrl({ app: 'https://other.example/qm/' }, base)).origin, 'https://other.example');
  assert.throws(() => embedUrl({ app: 'javascript:alert(1)' }, base), /http/);
});
