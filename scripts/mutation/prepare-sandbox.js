#!/usr/bin/env node
/**
 * Stryker's buildCommand (see stryker.config.mjs). Runs inside the sandbox,
 * after Stryker has written the instrumented sources there and before any
 * test runs:
 *
 * 1. Links node_modules. Stryker's own linking (symlinkNodeModules) points
 *    each sandbox packages/<pkg>/node_modules at the repo's, so
 *    `@onnx-explain/core` seen from the sandbox's packages/node would resolve
 *    (through pnpm's workspace link) to the REPO's packages/core: the CLI
 *    subprocess would run unmutated core. Here every workspace package gets a
 *    real node_modules folder whose entries link to the repo's, except the
 *    workspace links, which point inside the sandbox.
 * 2. Builds packages/node and packages/core (`tsc -b`) from the instrumented
 *    sources, so the tests that spawn the CLI (bin -> dist) or require
 *    packages/core/dist run the mutant that Stryker activates: the active
 *    mutant travels to subprocesses in the __STRYKER_ACTIVE_MUTANT__
 *    environment variable.
 * 3. Makes test/helpers/jsdom-environment.js (named in a @jest-environment
 *    docblock, so Stryker cannot swap it) report per-test coverage, by
 *    wrapping it in Stryker's mixin, and bail like the others (bail.js).
 *    Only the sandbox copy is changed.
 *
 * Usage (cwd = sandbox): node scripts/mutation/prepare-sandbox.js <repo root>
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const sandbox = process.cwd();
const repoArg = process.argv.slice(2).join(' '); // Stryker splits the buildCommand on spaces
const repo = path.resolve(repoArg);
if (!repoArg || !fs.existsSync(path.join(repo, 'node_modules'))) {
  console.error(`prepare-sandbox: repo root with node_modules expected as argument, got ${JSON.stringify(repoArg)}`);
  process.exit(2);
}
if (path.resolve(sandbox) === repo) {
  console.error('prepare-sandbox: refusing to run in the repo itself (run by Stryker, in its sandbox)');
  process.exit(2);
}

function link(target, at) {
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.rmSync(at, { recursive: true, force: true });
  fs.symlinkSync(target, at);
}

// 1. node_modules
link(path.join(repo, 'node_modules'), path.join(sandbox, 'node_modules'));
const repoPackages = path.join(repo, 'packages');
for (const pkg of fs.readdirSync(path.join(sandbox, 'packages'))) {
  const from = path.join(repoPackages, pkg, 'node_modules');
  if (!fs.existsSync(from)) continue;
  const to = path.join(sandbox, 'packages', pkg, 'node_modules');
  fs.rmSync(to, { recursive: true, force: true });
  const mirror = (dir) => {
    for (const entry of fs.readdirSync(path.join(from, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory() && (entry.name.startsWith('@') || entry.name === '.bin')) {
        fs.mkdirSync(path.join(to, rel), { recursive: true });
        mirror(rel);
        continue;
      }
      const real = fs.realpathSync(path.join(from, rel));
      const inWorkspace = path.relative(repoPackages, real);
      const target =
        !inWorkspace.startsWith('..') && !path.isAbsolute(inWorkspace)
          ? path.join(sandbox, 'packages', inWorkspace) // workspace package: the sandbox's copy
          : real;
      link(target, path.join(to, rel));
    }
  };
  fs.mkdirSync(to, { recursive: true });
  mirror('.');
}

// 2. build core and node from the instrumented sources (web is not mutated, and its
//    tests that need a build, the Chromium ones, are left out of the mutation run).
const tsc = require.resolve('typescript/bin/tsc', { paths: [repo] });
const build = spawnSync(process.execPath, [tsc, '-b', 'packages/node'], { cwd: sandbox, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`prepare-sandbox: tsc -b packages/node failed (exit ${build.status})`);
  process.exit(1);
}

// 3. Stryker-aware jsdom environment
const jsdomEnv = path.join(sandbox, 'test/helpers/jsdom-environment.js');
if (fs.existsSync(jsdomEnv)) {
  fs.renameSync(jsdomEnv, path.join(sandbox, 'test/helpers/jsdom-environment.unwrapped.js'));
  fs.writeFileSync(
    jsdomEnv,
    "// Written by scripts/mutation/prepare-sandbox.js, in Stryker's sandbox only.\n" +
      "const { mixinJestEnvironment } = require('@stryker-mutator/jest-runner');\n" +
      "const { withBail } = require('../../scripts/mutation/bail');\n" +
      "module.exports = mixinJestEnvironment(withBail(require('./jsdom-environment.unwrapped.js')));\n",
  );
}
