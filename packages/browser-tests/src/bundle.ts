// esbuild bundles for the browser tests: the checks page, and the minimal app whose size the README reports.
// @meprop/* resolve through node_modules to their package.json `exports` (the built dist/esm), as in an app.
import { build, BuildResult, Metafile } from 'esbuild';
import { copyFileSync, mkdirSync } from 'fs';
import { join } from 'path';

export const PKG_DIR = join(__dirname, '..');
/** esbuild's working directory: the metafile then names inputs 'packages/core/dist/esm/...'. */
export const REPO_ROOT = join(PKG_DIR, '..', '..');
const TSCONFIG = join(PKG_DIR, 'tsconfig.esbuild.json');

/** Bundles src/page into outDir (checks_page.js + index.html). */
export async function bundleChecksPage(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(PKG_DIR, 'src', 'page', 'checks_page.ts')],
    outdir: outDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2020',
    tsconfig: TSCONFIG,
    logLevel: 'error',
  });
  copyFileSync(join(PKG_DIR, 'src', 'page', 'index.html'), join(outDir, 'index.html'));
}

export interface AppBundle {
  bytes: number;
  /** Files that contribute code to the bundle (relative to the repository root). */
  inputs: string[];
  result: BuildResult & { metafile: Metafile };
}

/**
 * Minified ES-module bundle of an app entry for the browser with tfjs left out (`@tensorflow/*` external: it
 * is the app's own dependency and our packages' peer). Fails if anything imports a Node module.
 */
export async function bundleApp(entry: string, outFile: string): Promise<AppBundle> {
  const result = await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2020',
    external: ['@tensorflow/*'],
    tsconfig: TSCONFIG,
    metafile: true,
    absWorkingDir: REPO_ROOT,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (output === undefined) throw new Error(`bundleApp: esbuild produced no output for ${entry}`);
  const inputs = Object.entries(output.inputs)
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([k]) => k);
  return { bytes: output.bytes, inputs, result };
}
