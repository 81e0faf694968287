// Reference outputs of the TF.js recognizers, computed by TF.js itself (pure-JS CPU backend).
//
// The torch ports (core/faces/mobileface.py, bench/judge_faceres.py) are tested against
// these numbers. Run once after convert_tfjs.py --fixtures has written the crops and the spec:
//
//   mkdir -p /tmp/tfjs-ref && cd /tmp/tfjs-ref && npm init -y >/dev/null
//   npm install @tensorflow/tfjs@4.22.0 pngjs@7.0.0      # no native code, works offline after
//   node /path/to/repo/resources/models/recognizers/reference_outputs.mjs \
//        /path/to/human-models/package/models /path/to/repo/tests/fixtures/recognizers [MODEL...]
//
// (run it from the folder holding node_modules). It reads FIXTURES/reference.json: per model
// the graph file, the output node, how pixels become input and the crop PNGs (in
// FIXTURES/<crop_dir>/, by default FIXTURES/<model>/: `mobileface` reads the 112 px ArcFace
// crops of arcface112/, `faceres` its own 224 px ones); it runs all crops of a model as one
// batch and writes each crop's output back into reference.json as `expected`, rounded to 6
// decimals. Naming models (`mobileface`, `faceres`) recomputes only those; the others keep
// theirs. A model named but not in reference.json is an error.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const tf = require('@tensorflow/tfjs');
const { PNG } = require('pngjs');

const [modelsDir, fixturesDir, ...only] = process.argv.slice(2);
if (!modelsDir || !fixturesDir) {
  console.error('usage: node reference_outputs.mjs MODELS_DIR FIXTURES_DIR [MODEL...]');
  process.exit(2);
}

// A graph model read from disk: no fetch, no network.
function fileHandler(jsonPath) {
  return {
    load: async () => {
      const doc = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
      const specs = [];
      const buffers = [];
      for (const group of doc.weightsManifest) {
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(jsonPath), p)));
        specs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: doc.modelTopology,
        format: doc.format,
        generatedBy: doc.generatedBy,
        convertedBy: doc.convertedBy,
        signature: doc.signature,
        userDefinedMetadata: doc.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

// PNG crop -> Float32Array in the network's input convention (HWC).
function pixels(file, input) {
  const png = PNG.sync.read(fs.readFileSync(file));
  if (png.width !== input.size || png.height !== input.size) throw new Error(`${file}: not ${input.size} px`);
  const order = input.channel_order === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = new Float32Array(input.size * input.size * 3);
  for (let i = 0; i < input.size * input.size; i++) {
    for (let c = 0; c < 3; c++) {
      const v = png.data[4 * i + order[c]];
      out[3 * i + c] = v * input.scale[c] + input.offset[c];
    }
  }
  return out;
}

await tf.setBackend('cpu');
const specPath = path.join(fixturesDir, 'reference.json');
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const unknown = only.filter((name) => !(name in spec.models));
if (unknown.length) {
  console.error(`not in ${specPath}: ${unknown.join(', ')} (it has ${Object.keys(spec.models).join(', ')})`);
  process.exit(2);
}
for (const [name, m] of Object.entries(spec.models)) {
  if (only.length && !only.includes(name)) continue;
  const model = await tf.loadGraphModel(fileHandler(path.join(modelsDir, m.graph)));
  const n = m.crops.length;
  const size = m.input.size;
  const data = new Float32Array(n * size * size * 3);
  m.crops.forEach((crop, k) => data.set(pixels(path.join(fixturesDir, m.crop_dir ?? name, crop), m.input), k * size * size * 3));
  const x = tf.tensor4d(data, [n, size, size, 3]);
  const y = model.execute(x, m.output);
  const rows = await y.array();
  m.expected = Object.fromEntries(m.crops.map((crop, k) => [crop, rows[k].map((v) => Number(v.toFixed(6)))]));
  m.tfjs = `@tensorflow/tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}`;
  tf.dispose([x, y]);
  console.log(`${name}: ${n} crops -> ${rows[0].length}-d ${m.output}`);
}
fs.writeFileSync(specPath, `${JSON.stringify(spec, null, 1)}\n`);
