#!/usr/bin/env node
// Builds one library package (run from its folder: `node ../../tools/build-package.mjs`) into
//   dist/cjs  CommonJS + .d.ts (tsconfig.build.json),       marked {"type":"commonjs"}
//   dist/esm  ES modules + .d.ts (tsconfig.build.esm.json),  marked {"type":"module"}
// Why a post-pass: the sources import siblings without extensions ('./registry'), which bundlers and
// CommonJS accept but Node's ESM loader does not. Rather than touching every import in the sources, the ESM
// output gets its relative specifiers completed ('./registry.js', './kernels/index.js'); a specifier that
// resolves to no emitted file fails the build instead of shipping a broken module.
// The markers also carry the package's `sideEffects` for their folder: bundlers (webpack, esbuild) read that
// field from the nearest package.json, which for a file in dist/esm is the marker, not the package's own.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const pkgDir = process.cwd();
const dist = join(pkgDir, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(project) {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: pkgDir, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`build-package: tsc -p ${project} failed in ${pkgDir} (exit ${r.status})`);
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

// `from './x'`, `import './x'`, `import('./x')` (JS and .d.ts); only relative specifiers are touched.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*|\.{1,2})\2/g;

function completeSpecifier(file, spec) {
  if (/\.(m?js|json)$/.test(spec)) return spec;
  const target = resolve(dirname(file), spec);
  const isDts = file.endsWith('.d.ts');
  const asFile = isDts ? `${target}.d.ts` : `${target}.js`;
  const asIndex = isDts ? join(target, 'index.d.ts') : join(target, 'index.js');
  if (existsSync(asFile)) return `${spec}.js`;
  if (existsSync(asIndex)) return `${spec.replace(/\/$/, '')}/index.js`;
  throw new Error(`build-package: ${relative(pkgDir, file)} imports '${spec}', which matches no emitted module`);
}

// Type-only deep imports of packages without `exports` ('@tensorflow/tfjs-layers/dist/layers/core') in the
// ESM .d.ts: TypeScript's node16/nodenext resolution wants the extension there too ('.../core.js').
const DEEP_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(@[^/'"]+\/[^/'"]+|[^@./'"][^/'"]*)\/([^'"]+)\2/g;
const requireHere = createRequire(join(pkgDir, 'package.json'));

function completeDeepSpecifier(file, pkg, sub) {
  if (/\.(m?js|json)$/.test(sub)) return `${pkg}/${sub}`;
  let root;
  try {
    root = dirname(requireHere.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`build-package: ${relative(pkgDir, file)} imports '${pkg}/${sub}', but ${pkg} is not installed`);
  }
  if (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports !== undefined) return `${pkg}/${sub}`;
  if (existsSync(join(root, `${sub}.d.ts`))) return `${pkg}/${sub}.js`;
  throw new Error(`build-package: ${relative(pkgDir, file)} imports '${pkg}/${sub}', which has no ${sub}.d.ts in ${pkg}`);
}

function completeEsmSpecifiers(dir) {
  let files = 0;
  for (const file of walk(dir)) {
    if (!file.endsWith('.js') && !file.endsWith('.d.ts')) continue;
    const text = readFileSync(file, 'utf8');
    let out = text.replace(SPECIFIER, (_m, lead, quote, spec) => `${lead}${quote}${completeSpecifier(file, spec)}${quote}`);
    if (file.endsWith('.d.ts'))
      out = out.replace(
        DEEP_SPECIFIER,
        (_m, lead, quote, pkg, sub) => `${lead}${quote}${completeDeepSpecifier(file, pkg, sub)}${quote}`,
      );
    if (out !== text) {
      writeFileSync(file, out);
      files++;
    }
  }
  return files;
}

rmSync(dist, { recursive: true, force: true });
run('tsconfig.build.json');
run('tsconfig.build.esm.json');
const touched = completeEsmSpecifiers(join(dist, 'esm'));
const { sideEffects } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
function marker(format, type) {
  const prefix = `./dist/${format}/`;
  const own = Array.isArray(sideEffects)
    ? sideEffects.filter((f) => f.startsWith(prefix)).map((f) => `./${f.slice(prefix.length)}`)
    : sideEffects;
  for (const f of Array.isArray(own) ? own : []) {
    if (!existsSync(join(dist, format, f)))
      throw new Error(`build-package: sideEffects lists ${prefix}${f.slice(2)}, which was not emitted`);
  }
  const json = own === undefined ? { type } : { type, sideEffects: own };
  writeFileSync(join(dist, format, 'package.json'), `${JSON.stringify(json, null, 2)}\n`);
}
marker('cjs', 'commonjs');
marker('esm', 'module');
console.log(
  `build-package: ${relative(process.cwd(), dist)}/{cjs,esm} built (${touched} ESM files had relative imports completed)`,
);
