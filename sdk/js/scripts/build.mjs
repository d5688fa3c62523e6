// Builds what the package needs from the repository's one source of truth, into generated/
// (and the CommonJS bundle into dist/): none of it is in git, all of it is in the tarball.
//
//   proto/mesh.fbs     -> generated/mesh.js      (flatc --ts, bundled to one ES module)
//   proto/errors.json  -> generated/errors.js    (the error catalogue as data)
//   src/index.js       -> dist/cjs/index.cjs     (for require('adashta'))
//
// Run by `npm run build` and by `prepack`. Needs flatc (2.0.x: Debian's flatbuffers-compiler)
// when proto/ is there; from a packed tarball it is not run (generated/ ships).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const proto = path.resolve(here, '../../proto');
const out = path.join(here, 'generated');
mkdirSync(out, { recursive: true });

// --- mesh.fbs: flatc writes one .ts file per type; esbuild turns them into one module.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'adashta-flatc-'));
try {
  try {
    execFileSync(process.env.FLATC || 'flatc', ['--ts', '-o', tmp, path.join(proto, 'mesh.fbs')], { stdio: 'inherit' });
  } catch (err) {
    throw new Error(`flatc failed (${err.message}): install the FlatBuffers compiler 2.0.x ` +
      '(apt-get install flatbuffers-compiler) or set FLATC to its path');
  }
  await build({
    entryPoints: [path.join(tmp, 'mesh_generated.ts')],
    bundle: true, format: 'esm', platform: 'node', external: ['flatbuffers'],
    outfile: path.join(out, 'mesh.js'), logLevel: 'warning',
    banner: { js: '// Generated from proto/mesh.fbs by scripts/build.mjs (flatc --ts + esbuild). Do not edit.' },
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// --- errors.json: the catalogue, by code and by name.
const catalogue = JSON.parse(readFileSync(path.join(proto, 'errors.json'), 'utf8'));
const lines = [
  '// Generated from proto/errors.json by scripts/build.mjs. Do not edit.',
  '/** Every error of the catalogue: { code, name, message, hint }, by code. */',
  `export const catalogue = Object.freeze(${JSON.stringify(Object.fromEntries(catalogue.errors.map((e) => [e.code, e])), null, 2)});`,
  '/** Error codes by name: codes.unknown_queue === 4105. */',
  `export const codes = Object.freeze(${JSON.stringify(Object.fromEntries(catalogue.errors.map((e) => [e.name, e.code])), null, 2)});`,
  '',
];
writeFileSync(path.join(out, 'errors.js'), lines.join('\n'));
const dts = [
  '// Generated from proto/errors.json by scripts/build.mjs. Do not edit.',
  'export interface CatalogueEntry { code: number; name: string; message: string; hint: string }',
  'export declare const catalogue: Readonly<Record<number, CatalogueEntry>>;',
  'export declare const codes: Readonly<{',
  ...catalogue.errors.map((e) => `  /** ${e.message} */\n  ${e.name}: ${e.code};`),
  '}>;',
  '',
];
writeFileSync(path.join(out, 'errors.d.ts'), dts.join('\n'));

// --- CommonJS, for require('adashta').
await build({
  entryPoints: [path.join(here, 'src/index.js')],
  bundle: true, format: 'cjs', platform: 'node', target: 'node20',
  external: ['zeromq', 'flatbuffers', 'jose'],
  outfile: path.join(here, 'dist/cjs/index.cjs'), logLevel: 'warning',
});
if (!existsSync(path.join(out, 'mesh.js'))) throw new Error('build produced no generated/mesh.js');
