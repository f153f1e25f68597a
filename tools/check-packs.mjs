#!/usr/bin/env node
// Packs every published package as `npm publish` would (`npm pack --dry-run --json`, which runs `prepack`, i.e.
// the build) and checks what the tarball holds: the built code and its types, LICENSE and README; no tests, test
// helpers, bench scripts or TypeScript sources; source maps that carry their sources; no deep
// `@tensorflow/*/dist/...` imports in the published .d.ts files. Exits 1 naming every problem.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = {
  core: ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts'],
  layers: [
    'dist/cjs/index.js',
    'dist/cjs/index.d.ts',
    'dist/esm/index.js',
    'dist/esm/index.d.ts',
    'dist/cjs/node.js',
    'dist/esm/node.js',
  ],
  flows: ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts'],
  'tfjs-node-ops': ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'native/module.cc', 'scripts/build-native.mjs'],
  bench: ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'bin/meprop-bench.js', 'thresholds/ci.json'],
};
const ALWAYS = ['package.json', 'README.md', 'LICENSE'];
const FORBIDDEN = [
  [/\.test\.(js|ts|d\.ts|js\.map)$/, 'a test'],
  [/(^|\/)test-helpers\//, 'a test helper'],
  [/^bench\//, 'a bench script'],
  [/^src\//, 'a TypeScript source (the tarball ships dist/)'],
  [/(^|\/)jest\.config\.js$/, 'a jest config'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a tsconfig'],
  [/\.tsbuildinfo$/, 'a build cache'],
];
const rootLicense = readFileSync(path.join(root, 'LICENSE'), 'utf8');
const problems = [];

for (const [dir, required] of Object.entries(PACKAGES)) {
  const pkgDir = path.join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const report = (msg) => problems.push(`${pkg.name}: ${msg}`);
  let packed;
  try {
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], {
      cwd: pkgDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // prepack's output (the build) comes first on stdout; npm's JSON report is the array at the end.
    packed = JSON.parse(json.slice(json.search(/^\[\s*\{/m)))[0];
  } catch (e) {
    report(`npm pack --dry-run failed: ${e.message}`);
    continue;
  }
  const files = packed.files.map((f) => f.path);
  for (const f of [...ALWAYS, ...required]) if (!files.includes(f)) report(`the tarball lacks ${f}`);
  for (const f of files) {
    for (const [re, what] of FORBIDDEN) if (re.test(f)) report(`the tarball holds ${what}: ${f}`);
  }
  if (readFileSync(path.join(pkgDir, 'LICENSE'), 'utf8') !== rootLicense) report('LICENSE differs from the root LICENSE');
  for (const field of ['repository', 'homepage', 'bugs', 'engines', 'keywords', 'license']) {
    if (pkg[field] === undefined) report(`package.json has no "${field}"`);
  }
  if (pkg.repository && pkg.repository.directory !== `packages/${dir}`) {
    report(`package.json repository.directory is ${pkg.repository.directory}, expected packages/${dir}`);
  }
  if (!pkg.scripts || !pkg.scripts.prepack) report('package.json has no prepack script (a pack without dist/ is possible)');
  for (const f of files) {
    const text = f.endsWith('.d.ts') || f.endsWith('.map') ? readFileSync(path.join(pkgDir, f), 'utf8') : null;
    if (text === null) continue;
    if (f.endsWith('.d.ts')) {
      const deep = text.match(/['"]@tensorflow\/[a-z-]+\/dist\/[^'"]*['"]/);
      if (deep) report(`${f} imports ${deep[0]} (a deep tfjs path: types break across tfjs versions)`);
    } else {
      const map = JSON.parse(text);
      const n = (map.sources || []).length;
      if (
        !Array.isArray(map.sourcesContent) ||
        map.sourcesContent.length !== n ||
        map.sourcesContent.some((s) => typeof s !== 'string')
      ) {
        report(`${f} points at sources the tarball does not ship (no sourcesContent)`);
      }
    }
  }
  console.log(`${pkg.name}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} kB packed`);
}

if (problems.length > 0) {
  console.error(`\ncheck-packs: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('check-packs: every tarball holds dist, types, LICENSE and README, and nothing it should not');
