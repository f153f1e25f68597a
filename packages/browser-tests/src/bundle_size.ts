// Prints the minified (and gzipped) size of the minimal @meprop/core + @meprop/layers browser app, tfjs
// excluded, as reported in the root README: `npm run bundle-size -w @meprop/browser-tests` after a build.
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gzipSync } from 'zlib';
import { bundleApp, PKG_DIR } from './bundle';

async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'meprop-size-'));
  try {
    const file = join(out, 'app.js');
    const { bytes, inputs } = await bundleApp(join(PKG_DIR, 'src', 'fixtures', 'minimal_app.ts'), file);
    const gzip = gzipSync(readFileSync(file), { level: 9 }).length;
    const fromPkg = (p: string): number => inputs.filter((i) => i.includes(`packages/${p}/dist/esm/`)).length;
    console.log(
      `minimal app (src/fixtures/minimal_app.ts): ${bytes} bytes minified, ${gzip} bytes gzipped; ${fromPkg('core')} modules of @meprop/core, ${fromPkg('layers')} of @meprop/layers; @tensorflow/* external`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
