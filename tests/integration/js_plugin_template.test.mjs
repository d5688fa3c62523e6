// plugins/templates/js scaffolded as `adashta plugin new NAME --runtime js` will (the names
// filled in), then its own test run with node --test: it loads the plugin through
// plugins/host/testing.mjs in a real plugin host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const template = path.join(root, 'plugins/templates/js');
const testing = pathToFileURL(path.join(root, 'plugins/host/testing.mjs')).href;

test('the JavaScript template scaffolds a plugin whose own test passes', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'adashta-js-template-'));
  try {
    mkdirSync(path.join(dir, 'test'));
    for (const file of ['adashta-plugin.json', 'index.mjs', 'README.md', 'test/plugin.test.mjs']) {
      const text = readFileSync(path.join(template, file), 'utf8')
        .replaceAll('{{name}}', 'trim-text').replaceAll('{{hostTesting}}', testing)
        // A loaded test machine pauses a thread longer than the template's 50 ms.
        .replace('"callMs": 50', '"callMs": 2000');
      assert.doesNotMatch(text, /\{\{/, `${file}: a placeholder left`);
      writeFileSync(path.join(dir, file), text);
    }
    // NODE_TEST_CONTEXT would make the inner run report to this one instead of its stdout.
    const { NODE_TEST_CONTEXT, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'test/'],
                          { cwd: dir, env, encoding: 'utf8', timeout: 100_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /# pass 3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
