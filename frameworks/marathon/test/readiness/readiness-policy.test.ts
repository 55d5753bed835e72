/** Readiness check defaults, the port a check addresses, and which answers are ready (pure). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isReadyStatus, readinessCheckSpec, readinessPort } from '../../src/readiness/readiness-policy.js';

const test = suite('readiness policy');

test("Marathon's defaults", () => {
  assert.equal(readinessCheckSpec({}), {
    name: 'readinessCheck',
    protocol: 'HTTP',
    path: '/',
    portName: 'http-api',
    intervalSeconds: 30,
    timeoutSeconds: 10,
    httpStatusCodesForReady: [200],
    preserveLastResponse: false,
  });
});

test('portName selects the host port of the port definition with that name', () => {
  const spec = readinessCheckSpec({ portName: 'admin' });
  assert.is(readinessPort(spec, [{ name: 'http' }, { name: 'admin' }], [31000, 31001]), 31001);
  assert.is(readinessPort(spec, [{ name: 'http' }], [31000]), undefined);
});

test('only the listed statuses are ready', () => {
  const spec = readinessCheckSpec({ httpStatusCodesForReady: [200, 204] });
  assert.ok(isReadyStatus(spec, 204));
  assert.not.ok(isReadyStatus(spec, 503));
  assert.not.ok(isReadyStatus(readinessCheckSpec({}), 204));
});

test.run();
