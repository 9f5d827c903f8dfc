/**
 * The onnx-explain command line. Every command reports bad input as one line
 * on stderr and a non-zero exit, never a stack trace.
 */
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { summarizeModel, checkInput, gradientCoverage, type ModelSummary, type CoverageReport } from '@onnx-explain/core';
import { loadModelFile } from './modelFile';
import { readInputFile } from './inputFile';
import { runModel } from './session';
import type { NdArray } from './npy';

const REPO_MODELS = path.resolve(__dirname, '../../../models');

function formatShape(shape: ModelSummary['inputs'][number]['shape']): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '(rank unknown)';
}

export function formatCoverage(c: CoverageReport): string {
  const lines = [
    `gradient coverage (opset ${c.opset}, output '${c.output}' with respect to ${c.wrt.map((w) => `'${w}'`).join(', ') || 'no float input'})`,
    ...c.ops.map((o) => {
      const name = o.domain ? `${o.domain}::${o.opType}` : o.opType;
      const path = o.status === 'missing' && o.onPath ? `  <- on the differentiated path (${o.onPath} node${o.onPath > 1 ? 's' : ''})` : '';
      return `  ${name.padEnd(24)} ${String(o.count).padStart(4)}  ${o.status}${path}`;
    }),
    c.verdict === 'graph'
      ? 'verdict: differentiable by graph'
      : c.note && !c.blocking.length
      ? `verdict: needs finite differences: ${c.note}`
      : `verdict: needs finite differences, because of ${c.blocking.map((b) => `${b.domain ? b.domain + '::' : ''}${b.opType} (${b.nodes.slice(0, 3).join(', ')}${b.nodes.length > 3 ? ', ...' : ''})`).join('; ')}`,
  ];
  return lines.join('\n');
}

export function formatSummary(file: string, s: ModelSummary): string {
  const lines = [
    `model      ${file}`,
    `ir         ${s.irVersion}   opsets ${s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`,
    `producer   ${s.producer || '(not recorded)'}`,
    `parameters ${s.parameterCount.toLocaleString('en-US')} in initializers, ${s.nodeCount} nodes`,
    'inputs',
    ...s.inputs.map((i) => `  ${i.name}  ${i.type} ${formatShape(i.shape)}`),
    'outputs',
    ...s.outputs.map((o) => `  ${o.name}  ${o.type} ${formatShape(o.shape)}`),
  ];
  if (s.functions.length) lines.push('local functions', ...s.functions.map((f) => `  ${f}`));
  return lines.join('\n');
}

function topClasses(out: NdArray, k = 3): { index: number; value: number }[] {
  const row = Array.from(out.data as Float32Array).slice(0, out.shape[out.shape.length - 1]);
  return row
    .map((value, index) => ({ index, value }))
    .sort((a, b) => b.value - a.value)
    .slice(0, k);
}

async function inspect(model: string, json: boolean): Promise<void> {
  const loaded = await loadModelFile(model, { loadExternalData: false });
  const summary = summarizeModel(loaded.model);
  const coverage = gradientCoverage(loaded.model);
  process.stdout.write(
    json
      ? JSON.stringify({ ...summary, gradientCoverage: coverage }, null, 2) + '\n'
      : `${formatSummary(model, summary)}\n${formatCoverage(coverage)}\n`,
  );
}

async function run(model: string, inputs: string[]): Promise<Record<string, NdArray>> {
  const loaded = await loadModelFile(model);
  const summary = summarizeModel(loaded.model);
  const feeds: Record<string, NdArray> = {};
  for (const spec of inputs) {
    const eq = spec.indexOf('=');
    const named = eq > 0 && !/^[A-Za-z]:[\\/]/.test(spec);
    const name = named ? spec.slice(0, eq) : summary.inputs[Object.keys(feeds).length]?.name;
    const file = named ? spec.slice(eq + 1) : spec;
    const declared = summary.inputs.find((i) => i.name === name);
    if (!declared) {
      throw new Error(`the model has no input '${name}'; its inputs are ${summary.inputs.map((i) => i.name).join(', ')}`);
    }
    const arr = await readInputFile(file);
    checkInput(declared, arr);
    feeds[declared.name] = arr;
  }
  const missing = summary.inputs.filter((i) => !feeds[i.name]);
  if (missing.length) throw new Error(`no value given for input ${missing.map((i) => `'${i.name}'`).join(', ')} (use --input NAME=FILE)`);
  return runModel(loaded.model, feeds);
}

function printOutputs(outputs: Record<string, NdArray>): void {
  for (const [name, arr] of Object.entries(outputs)) {
    const preview = Array.from(arr.data as Float32Array).slice(0, 10).map((v) => Number(v).toFixed(4));
    process.stdout.write(`${name} ${arr.dtype} [${arr.shape.join(', ')}]: ${preview.join(' ')}${arr.data.length > 10 ? ' ...' : ''}\n`);
    if (arr.dtype === 'float32' && arr.shape.length >= 1) {
      const top = topClasses(arr).map((t) => `${t.index} (${t.value.toFixed(3)})`);
      process.stdout.write(`  top classes of the first row: ${top.join(', ')}\n`);
    }
  }
}

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('onnx-explain')
    .usage('$0 <command> [options]\n\nExplain what an ONNX model decided, with feature attributions.')
    .command(
      'inspect <model>',
      'Show a model\'s inputs, outputs, op types and gradient coverage',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }),
      async (a) => inspect(a.model, a.json),
    )
    .command(
      'run <model>',
      'Run a model on input files and print its outputs',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('input', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'an input file (.npy or .json), or NAME=FILE for a model with several inputs; repeatable',
          }),
      async (a) => printOutputs(await run(a.model, a.input)),
    )
    .command(
      'demo',
      'Inspect the shipped digits CNN and classify a shipped sample image',
      (y) => y,
      async () => {
        const model = path.join(REPO_MODELS, 'digits_cnn.onnx');
        await inspect(model, false);
        process.stdout.write('\nclassifying models/samples/digit_3.npy (a handwritten 3):\n');
        printOutputs(await run(model, [path.join(REPO_MODELS, 'samples/digit_3.npy')]));
      },
    )
    .demandCommand(1, 'name a command: inspect, run or demo (see --help)')
    .strict()
    .help()
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${msg}\n\n${y.help()}\n`);
      process.exit(2);
    })
    .parseAsync();
}

if (require.main === module) {
  main(hideBin(process.argv)).catch((e: Error) => {
    process.stderr.write(`onnx-explain: ${e.message}\n`);
    process.exit(1);
  });
}
