import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgoraError, ERROR_CODES, hasErrorCode, toAgoraError } from '../src/index.js';

const test = suite('errors - stable codes, documented');

test('every error code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const missing = Object.keys(ERROR_CODES).filter((code) => !doc.includes(`\`${code}\``));
  assert.equal(missing, [], `add these codes to docs/errors.md: ${missing.join(', ')}`);
});

test('errors carry code, data and cause', () => {
  const cause = new Error('disk full');
  const err = new AgoraError('AGORA_ERR_STORAGE', 'cannot write app /web', { cause, data: { app: '/web' } });
  assert.ok(hasErrorCode(err, 'AGORA_ERR_STORAGE'));
  assert.not.ok(hasErrorCode(err, 'AGORA_ERR_INTERNAL'));
  assert.is(err.cause, cause);
  assert.equal(err.toJSON(), { code: 'AGORA_ERR_STORAGE', message: 'cannot write app /web', data: { app: '/web' } });
});

test('foreign errors are wrapped, known codes kept', () => {
  assert.is(toAgoraError(new Error('x')).code, 'AGORA_ERR_INTERNAL');
  assert.is(toAgoraError(Object.assign(new Error('bad'), { code: 'AGORA_ERR_BAD_FRAME' })).code, 'AGORA_ERR_BAD_FRAME');
  assert.is(toAgoraError('text', 'AGORA_ERR_TIMEOUT').code, 'AGORA_ERR_TIMEOUT');
});

test.run();
