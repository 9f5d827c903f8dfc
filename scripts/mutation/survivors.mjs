#!/usr/bin/env node
/**
 * Per-module scores and the list of mutants the tests did not kill, from
 * Stryker's JSON report (mutation-testing-report-schema):
 *   node scripts/mutation/survivors.mjs [reports/mutation/mutation.json] [reports/mutation/survivors.md]
 * Modules are those of stryker.config.mjs (MODULES).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const input = process.argv[2] || path.join(root, 'reports/mutation/mutation.json');
const output = process.argv[3] || path.join(root, 'reports/mutation/survivors.md');
const { MODULES } = await import(path.join(root, 'stryker.config.mjs'));
const report = JSON.parse(fs.readFileSync(input, 'utf8'));

function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
const moduleMatchers = Object.entries(MODULES).map(([name, patterns]) => ({
  name,
  include: patterns.filter((p) => !p.startsWith('!')).map((p) => globToRegExp(p.replace(/:\d+(:\d+)?-\d+(:\d+)?$/, ''))),
}));
const moduleOf = (file) => moduleMatchers.find((m) => m.include.some((re) => re.test(file)))?.name ?? '(other)';

const DETECTED = ['Killed', 'Timeout'];
const UNDETECTED = ['Survived', 'NoCoverage'];
const STATUSES = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError', 'Ignored', 'Pending'];

function emptyCounts() {
  return Object.fromEntries(STATUSES.map((s) => [s, 0]));
}
function score(c) {
  const detected = DETECTED.reduce((a, s) => a + c[s], 0);
  const valid = detected + UNDETECTED.reduce((a, s) => a + c[s], 0);
  const covered = detected + c.Survived;
  return {
    total: valid ? ((100 * detected) / valid).toFixed(2) : 'n/a',
    covered: covered ? ((100 * detected) / covered).toFixed(2) : 'n/a',
  };
}

/** The source text a mutant replaces (location: 1-based lines, 1-based columns). */
function original(source, { start, end }) {
  const lines = source.split('\n');
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1);
  const parts = [lines[start.line - 1].slice(start.column - 1)];
  for (let l = start.line + 1; l < end.line; l++) parts.push(lines[l - 1]);
  parts.push(lines[end.line - 1].slice(0, end.column - 1));
  return parts.join('\n');
}
function code(text, max = 90) {
  let t = text.replace(/\s+/g, ' ').trim();
  if (t.length > max) t = `${t.slice(0, max - 1)}…`;
  if (t === '') return '(empty)';
  const fence = t.includes('`') ? '``' : '`';
  return `${fence}${t.startsWith('`') ? ' ' : ''}${t}${t.endsWith('`') ? ' ' : ''}${fence}`;
}

const byModule = new Map();
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const mod = moduleOf(file);
  if (!byModule.has(mod)) byModule.set(mod, { counts: emptyCounts(), files: new Map() });
  const m = byModule.get(mod);
  const f = { counts: emptyCounts(), undetected: [] };
  m.files.set(file, f);
  for (const mutant of mutants) {
    m.counts[mutant.status] = (m.counts[mutant.status] ?? 0) + 1;
    f.counts[mutant.status] = (f.counts[mutant.status] ?? 0) + 1;
    if (UNDETECTED.includes(mutant.status)) f.undetected.push({ ...mutant, original: original(source, mutant.location) });
  }
}

const out = [];
out.push('# Surviving mutants');
out.push('');
out.push(`From \`${path.relative(root, input)}\` (Stryker ${report.framework?.version ?? ''}), written ${new Date().toISOString()}.`);
out.push('Score = (killed + timeout) / (killed + timeout + survived + no coverage); "covered" leaves out no-coverage mutants.');
out.push('Compile errors are mutants the TypeScript checker rejected; ignored ones are static mutants left out by `--ignoreStatic` (neither is run or scored).');
out.push('Runtime errors: with the mutant active a test file failed to load (e.g. a sample parsed at its top); Stryker leaves them out of the score, though the suite did notice the mutant.');
out.push('Regenerate with `node scripts/mutation/survivors.mjs` (done by `pnpm mutation`).');
out.push('');
out.push('| module | score % | covered % | killed | timeout | survived | no coverage | compile error | runtime error | ignored |');
out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const order = [...Object.keys(MODULES), '(other)'].filter((m) => byModule.has(m));
for (const mod of order) {
  const { counts: c } = byModule.get(mod);
  const s = score(c);
  out.push(`| ${mod} | ${s.total} | ${s.covered} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.CompileError} | ${c.RuntimeError} | ${c.Ignored} |`);
}
for (const mod of Object.keys(MODULES).filter((m) => !byModule.has(m))) out.push(`| ${mod} | not run yet | | | | | | | | |`);
out.push('');
for (const mod of order) {
  const { counts: c, files } = byModule.get(mod);
  out.push(`## ${mod}`);
  out.push('');
  out.push('| file | score % | killed | timeout | survived | no coverage | compile error | ignored |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [file, f] of [...files].sort()) {
    const fc = f.counts;
    out.push(`| ${file} | ${score(fc).total} | ${fc.Killed} | ${fc.Timeout} | ${fc.Survived} | ${fc.NoCoverage} | ${fc.CompileError} | ${fc.Ignored} |`);
  }
  out.push('');
  for (const status of UNDETECTED) {
    const list = [...files].flatMap(([file, f]) => f.undetected.filter((m) => m.status === status).map((m) => ({ file, ...m })));
    if (!list.length) continue;
    list.sort((a, b) => a.file.localeCompare(b.file) || a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column);
    out.push(`### ${status === 'Survived' ? 'Survived' : 'No coverage (no test reaches them)'} (${list.length})`);
    out.push('');
    for (const m of list) {
      const where = `${m.file}:${m.location.start.line}:${m.location.start.column}`;
      const flags = m.static ? ' (static)' : '';
      out.push(`- \`${where}\` ${m.mutatorName}${flags}: ${code(m.original)} -> ${code(m.replacement ?? '')}`);
    }
    out.push('');
  }
  if (c.Survived + c.NoCoverage === 0) {
    out.push('Every mutant was killed.');
    out.push('');
  }
}
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, out.join('\n'));
console.log(`mutation: wrote ${path.relative(root, output)}`);
