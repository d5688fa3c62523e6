// The plugin in a real plugin host, with the edge's sandbox and limits: node --test
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlugin } from '{{hostTesting}}';

const plugin = await loadPlugin(new URL('..', import.meta.url), { maxLength: 10 });
after(() => plugin.close());

test('on_message trims the text', async () => {
  const v = await plugin.call('on_message', { queue: 'chat', id: 'm1', data: { text: '  hi  ' } }, { user: 'alice' });
  assert.deepEqual(v, { kind: 'pass', data: { text: 'hi' } });
});

test('on_message refuses a text over maxLength', async () => {
  const v = await plugin.call('on_message', { queue: 'chat', id: 'm2', data: { text: 'x'.repeat(11) } });
  assert.equal(v.kind, 'reject');
  assert.match(v.reason, /longer than 10/);
});

test('a message without text passes unchanged', async () => {
  assert.deepEqual(await plugin.call('on_message', { queue: 'chat', id: 'm3', data: 42 }), { kind: 'pass' });
});
