// Which of the files a user dropped or picked is the model, and which are its external data.
// Pure (works on anything with a `name`), covered by tests/js/format.test.mjs.

/**
 * Returns {model, external: [...], error}. Exactly one file must end in ".onnx"; every other file
 * is treated as external data (ONNX names it by its location, usually "<model>.onnx.data").
 */
export function classifyFiles(files) {
  const list = Array.from(files ?? []);
  if (list.length === 0) return { model: null, external: [], error: 'No file was selected.' };
  const models = list.filter((f) => /\.onnx$/i.test(f.name));
  if (models.length === 0) {
    const names = list.map((f) => f.name).join(', ');
    return { model: null, external: [],
             error: `No .onnx model among the selected files (${names}). Choose a .onnx file, together with its .onnx.data file if it has one.` };
  }
  if (models.length > 1) {
    return { model: null, external: [],
             error: `Several .onnx models were selected (${models.map((f) => f.name).join(', ')}). Open one model at a time.` };
  }
  return { model: models[0], external: list.filter((f) => f !== models[0]), error: null };
}
