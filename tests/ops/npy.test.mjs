// Unit tests of tests/ops/npy.mjs. The oracle is NumPy itself (/usr/bin/python3): NumPy writes
// files that we read, and reads files that we write.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, makeArray, readNpy, writeNpy, NpyError } from './npy.mjs';

const PYTHON = process.env.QM_PYTHON || '/usr/bin/python3';

function python(script, args = []) {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  return r.stdout;
}

// Every dtype the harness meets, with values that exercise sign, range ends and fractions.
const CASES = [
  ['float32', [2, 3], [0, -1.5, 3.25, 1e-30, -3.4e38, 0.1]],
  ['float64', [3], [Math.PI, -0, 1e300]],
  ['int8', [4], [-128, -1, 0, 127]],
  ['uint8', [2, 2], [0, 1, 254, 255]],
  ['int16', [2], [-32768, 32767]],
  ['uint16', [2], [0, 65535]],
  ['int32', [3], [-2147483648, 0, 2147483647]],
  ['uint32', [2], [0, 4294967295]],
  ['int64', [3], [-9223372036854775808n, 0n, 9223372036854775807n]],
  ['uint64', [1], [18446744073709551615n]],
  ['bool', [2, 2], [1, 0, 0, 1]],
  ['float32', [], [2.5]],          // scalar
  ['float32', [0, 3], []],         // empty
  ['float32', [1, 1, 1, 70], Array.from({ length: 70 }, (_, i) => i / 7)],
];

test('npy: numpy reads what we write (every dtype, scalar, empty)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-npy-'));
  try {
    const files = CASES.map(([dtype, shape, values], i) => {
      const f = join(dir, `a${i}.npy`);
      writeNpy(f, makeArray(dtype, shape, values));
      return f;
    });
    const out = JSON.parse(python(`
import json, sys, numpy as np
res = []
for f in sys.argv[1:]:
    a = np.load(f)
    res.append({'dtype': str(a.dtype), 'shape': list(a.shape),
                'values': [str(v) for v in a.reshape(-1).tolist()]})
print(json.dumps(res))`, files));
    const npName = { bool: 'bool' };
    CASES.forEach(([dtype, shape, values], i) => {
      assert.equal(out[i].dtype, npName[dtype] ?? dtype, `case ${i}`);
      assert.deepEqual(out[i].shape, shape, `case ${i}`);
      const expected = dtype === 'bool' ? values.map((v) => (v ? 'True' : 'False'))
        : dtype === 'float32' ? [...Float32Array.from(values)].map((v) => v)
          : values;
      const got = out[i].values.map((s, k) => (dtype.startsWith('float') ? Number(s) : s));
      if (dtype.startsWith('float')) {
        assert.deepEqual(got, [...(dtype === 'float32' ? Float32Array : Float64Array).from(expected)], `case ${i}`);
      } else {
        assert.deepEqual(got, expected.map(String), `case ${i}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npy: we read what numpy writes (versions 1.0 and 2.0, every dtype, odd header sizes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-npy-'));
  try {
    const manifest = JSON.parse(python(`
import json, sys, numpy as np
from numpy.lib import format as F
d = sys.argv[1]
arrays = {
  'f4': np.arange(12, dtype=np.float32).reshape(3, 4) / 3,
  'f8': np.array([1.0/3, -2.5], dtype=np.float64),
  'f2': np.array([1.5, -2.0, 65504.0], dtype=np.float16),
  'i1': np.array([-128, 5], dtype=np.int8), 'u1': np.array([[200]], dtype=np.uint8),
  'i2': np.array([-300], dtype=np.int16), 'u2': np.array([60000], dtype=np.uint16),
  'i4': np.array([-7, 7], dtype=np.int32), 'u4': np.array([4000000000], dtype=np.uint32),
  'i8': np.array([-(2**62), 3], dtype=np.int64), 'u8': np.array([2**63 + 5], dtype=np.uint64),
  'b1': np.array([True, False, True]), 'scalar': np.float32(7.25), 'empty': np.zeros((2, 0), np.int64),
  'noncontig': np.arange(6, dtype=np.float32).reshape(2, 3).T,
}
out = {}
for k, a in arrays.items():
    a = np.asarray(a)
    f = d + '/' + k + '.npy'
    np.save(f, a)
    out[k] = {'file': f, 'shape': list(a.shape), 'values': [str(v) for v in a.reshape(-1).tolist()]}
# a version 2.0 file
a = np.arange(5, dtype=np.float32)
with open(d + '/v2.npy', 'wb') as fh:
    F.write_array(fh, a, version=(2, 0))
out['v2'] = {'file': d + '/v2.npy', 'shape': [5], 'values': [str(v) for v in a.tolist()]}
print(json.dumps(out))`, [dir]));
    for (const [key, m] of Object.entries(manifest)) {
      const a = readNpy(m.file);
      assert.deepEqual(a.shape, m.shape, key);
      let values;
      if (a.dtype === 'bool') values = [...a.data].map((v) => (v ? 'True' : 'False'));
      else if (a.dtype === 'float16') {
        // Decode the raw half bits to compare with numpy's printed values.
        values = [...a.data].map((h) => {
          const s = h >> 15 ? -1 : 1; const e = (h >> 10) & 31; const f = h & 1023;
          return String(e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15));
        }).map(Number);
        assert.deepEqual(values, m.values.map(Number), key);
        continue;
      } else values = [...a.data].map(String);
      if (a.dtype.startsWith('float')) assert.deepEqual(values.map(Number), m.values.map(Number), key);
      else assert.deepEqual(values, m.values, key);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npy: round trip keeps dtype, shape and bits; data starts 64-byte aligned', () => {
  for (const [dtype, shape, values] of CASES) {
    const bytes = encodeNpy(makeArray(dtype, shape, values));
    const headerLen = bytes.readUInt16LE(8);
    assert.equal((10 + headerLen) % 64, 0);
    const back = decodeNpy(bytes);
    assert.equal(back.dtype, dtype);
    assert.deepEqual(back.shape, shape);
    assert.deepEqual([...back.data], [...makeArray(dtype, shape, values).data]);
  }
});

test('npy: rejects bad magic, truncated data, big-endian and unknown dtypes; reorders Fortran order', () => {
  const good = encodeNpy(makeArray('float32', [4], [1, 2, 3, 4]));
  assert.throws(() => decodeNpy(Buffer.from('hello world, not npy')), /bad magic/);
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 3)), /truncated data/);
  const fortran = Buffer.from(good);
  fortran.write("'fortran_order': True, 'shape': (2, 2)", good.indexOf("'fortran_order'"), 'latin1');
  assert.deepEqual([...decodeNpy(fortran).data], [1, 3, 2, 4]);  // column-major [[1,3],[2,4]]
  const big = Buffer.from(good);
  big.write("'>f4'", good.indexOf("'<f4'"), 'latin1');
  assert.throws(() => decodeNpy(big), NpyError);
  const weird = Buffer.from(good);
  weird.write("'<c8'", good.indexOf("'<f4'"), 'latin1');
  assert.throws(() => decodeNpy(weird), /unsupported dtype/);
  const dir = mkdtempSync(join(tmpdir(), 'qm-npy-'));
  try {
    writeFileSync(join(dir, 'x.npy'), good);
    assert.deepEqual([...readNpy(join(dir, 'x.npy')).data], [1, 2, 3, 4]);
    assert.equal(readFileSync(join(dir, 'x.npy')).length, good.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
