#!/usr/bin/env node
// A stand-in for the `quantmix` binary that implements only `quantmix run` (cli.md contract),
// backed by ONNX Runtime. The harness self-check points QUANTMIX_BIN at it to exercise exactly the
// code path ctest uses for the real engine (spawn, --input NAME=FILE, --output-dir, file names).
//   node tests/ops/ort_cli.mjs run MODEL.onnx --input [NAME=]FILE ... --output-dir DIR
// QM_FAKE_PERTURB=1 makes it write one wrong element per output (the harness must notice).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, writeNpy } from './npy.mjs';
import { runOrt, loadOrt } from './ort_engine.mjs';
import { perturbArray, sanitize } from './harness.mjs';

const USAGE = 'usage: quantmix run MODEL.onnx --input [NAME=]FILE ... [--output-dir DIR]';

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd !== 'run') {
    console.error(`error: unknown command '${cmd ?? ''}' (this stand-in only implements run)`);
    return 2;
  }
  if (rest.includes('--help')) { console.log(USAGE); return 0; }
  let model = null; let outDir = '.'; const inputs = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--input') inputs.push(rest[++i]);
    else if (a === '--output-dir') outDir = rest[++i];
    else if (a.startsWith('--')) { console.error(`error: unknown flag ${a}`); return 2; }
    else if (!model) model = a;
    else { console.error(`error: unexpected argument ${a}`); return 2; }
  }
  if (!model) { console.error(`error: no model\n${USAGE}`); return 2; }
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(model);
  const names = session.inputNames;
  await session.release();
  const feeds = {};
  for (const spec of inputs) {
    const eq = spec.indexOf('=');
    const [name, file] = eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [names[0], spec];
    feeds[name] = readNpy(file);
  }
  const outs = await runOrt(model, feeds);
  mkdirSync(outDir, { recursive: true });
  for (const [name, arr] of Object.entries(outs)) {
    writeNpy(join(outDir, `${sanitize(name)}.npy`), process.env.QM_FAKE_PERTURB === '1' ? perturbArray(arr) : arr);
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(`error: ${String(err.message).split('\n')[0]}`);
  process.exit(1);
});
