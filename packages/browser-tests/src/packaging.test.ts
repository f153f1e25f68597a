// The built packages as a user gets them: ES modules bundle for the browser with tfjs left to the app (no
// tfjs copy inside, no Node module), Node-only code only behind @meprop/layers/node, and Node loads both the
// ES-module and the CommonJS builds. Needs `npm run build` (nx runs it before this target).
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { bundleApp, PKG_DIR } from './bundle';

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'meprop-bundle-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

const fixture = (name: string): string => join(PKG_DIR, 'src', 'fixtures', name);

describe('browser bundles of the built packages', () => {
  test('a minimal @meprop/core + @meprop/layers app bundles from dist/esm, with no tfjs inside', async () => {
    const { bytes, inputs } = await bundleApp(fixture('minimal_app.ts'), join(out, 'minimal.js'));
    const ours = inputs.filter((i) => !i.includes('src/fixtures/'));
    expect(ours.length).toBeGreaterThan(10);
    // Every bundled file of ours is built ES-module output; nothing from tfjs or any other package.
    expect(ours.filter((i) => !/packages\/(core|layers)\/dist\/esm\/.+\.js$/.test(i))).toEqual([]);
    expect(ours.some((i) => i.includes('layers/dist/esm/kernels/register_all_kernels.js'))).toBe(true);
    expect(ours.some((i) => i.includes('core/dist/esm/kernels/register_all_kernels.js'))).toBe(true);
    console.log(`minimal app (core + layers, tfjs external), minified: ${bytes} bytes`);
    // A size bound far below any tfjs copy (tfjs-core alone is about 500 kB minified). The app was 108 kB on
    // 2026-12-02, 29 kB of it the webgl/webgpu shader sources of core's and layers' GPU kernels.
    expect(bytes).toBeLessThan(150_000);
  });

  test('folderIO lives behind @meprop/layers/node: a browser bundle of it fails on Node modules', async () => {
    await expect(bundleApp(fixture('node_only_app.ts'), join(out, 'node_only.js'))).rejects.toThrow(/fs\/promises|"path"/);
  });

  test('sideEffects keeps the flows class registrations and drops modules the app does not use', async () => {
    const { inputs } = await bundleApp(fixture('flows_app.ts'), join(out, 'flows.js'));
    for (const registering of ['masked_dense', 'autoregressive_network', 'iaf_step', 'iaf_flow', 'maf_flow']) {
      expect(inputs).toContainEqual(expect.stringMatching(new RegExp(`flows/dist/esm/${registering}\\.js$`)));
    }
    expect(inputs.filter((i) => /flows\/dist\/esm\/(train_vae|vae|bernoulli_decoder|gaussian_encoder)\.js$/.test(i))).toEqual([]);
  });
});

describe('TypeScript resolves the types of every entry', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  // skipLibCheck off, so an unresolved import inside our .d.ts is an error; tfjs's own .d.ts have errors of
  // their own under --strict, so only errors in our files count.
  const compile = (module: string, resolution: string, files: string[]): string[] => {
    try {
      execFileSync(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--skipLibCheck',
          'false',
          '--module',
          module,
          '--moduleResolution',
          resolution,
          '--types',
          'node',
          ...files.map(fixture),
        ],
        { cwd: PKG_DIR, encoding: 'utf8' },
      );
      return [];
    } catch (e) {
      const out = String((e as { stdout?: string }).stdout ?? e);
      return out.split('\n').filter((l) => /error TS/.test(l) && !l.includes('node_modules/@tensorflow/'));
    }
  };

  test.each([
    ['node16', 'node16', ['types_consumer.mts', 'types_consumer.cts']],
    ['esnext', 'bundler', ['types_consumer.mts', 'types_consumer.cts']],
    ['commonjs', 'node10', ['types_consumer.cts']],
  ])('module %s, moduleResolution %s', (module, resolution, files) => {
    expect(compile(module, resolution, files)).toEqual([]);
  });
});

describe('Node loads both builds', () => {
  const probe =
    "typeof m.mePropify + ' ' + typeof n.folderIO + ' ' + typeof n.mePropify + ' ' + typeof f.iafFlow + ' ' + typeof c.withMeProp + ' ' + ('folderIO' in m)";
  const expected = 'function function function function function false';

  test('as ES modules (import)', () => {
    const code = `import * as m from '@meprop/layers'; import * as n from '@meprop/layers/node'; import * as f from '@meprop/flows'; import * as c from '@meprop/core'; console.log(${probe});`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: PKG_DIR, encoding: 'utf8' }).trim()).toBe(
      expected,
    );
  });

  test('as CommonJS (require)', () => {
    const code = `const m = require('@meprop/layers'), n = require('@meprop/layers/node'), f = require('@meprop/flows'), c = require('@meprop/core'); console.log(${probe});`;
    expect(execFileSync(process.execPath, ['-e', code], { cwd: PKG_DIR, encoding: 'utf8' }).trim()).toBe(expected);
  });
});
