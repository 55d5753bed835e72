/** Maintenance schedules as pure functions: parsing, validation and machine modes. */
import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  agentOnMachine,
  machinesDown,
  machinesForSchedule,
  machinesUp,
  parseMachineIds,
  parseScheduleJson,
  scheduleJson,
} from '../../src/maintenance/schedule.js';

const test = suite('maintenance schedule');
const isBad = (e: unknown) => hasErrorCode(e, 'AGORA_ERR_BAD_REQUEST');

const window = (machines: Array<{ hostname?: string; ip?: string }>, start = 1_000, duration?: number) => ({
  machine_ids: machines,
  unavailability: {
    start: { nanoseconds: start },
    ...(duration === undefined ? {} : { duration: { nanoseconds: duration } }),
  },
});

test('a schedule round-trips through Mesos JSON; hostnames are lower-cased', () => {
  const windows = parseScheduleJson({ windows: [window([{ hostname: 'A.test' }, { ip: '10.0.0.2' }], 5, 10)] });
  assert.equal(windows, [{ machineIds: [{ hostname: 'a.test' }, { ip: '10.0.0.2' }], startNs: 5, durationNs: 10 }]);
  assert.equal(scheduleJson(windows), { windows: [window([{ hostname: 'a.test' }, { ip: '10.0.0.2' }], 5, 10)] });
  assert.equal(parseScheduleJson({}), [], 'an empty schedule clears it');
});

test('invalid schedules are refused with a message', () => {
  assert.throws(() => parseScheduleJson([]), isBad);
  assert.throws(() => parseScheduleJson({ windows: 3 }), isBad);
  assert.throws(() => parseScheduleJson({ windows: [{ machine_ids: [], unavailability: {} }] }), isBad);
  assert.throws(() => parseScheduleJson({ windows: [window([{}])] }), isBad, 'a machine needs a hostname or ip');
  assert.throws(() => parseScheduleJson({ windows: [{ machine_ids: [{ hostname: 'a' }] }] }), isBad);
  assert.throws(() => parseScheduleJson({ windows: [window([{ hostname: 'a' }], -1)] }), isBad);
  assert.throws(
    () => parseScheduleJson({ windows: [window([{ hostname: 'a' }]), window([{ hostname: 'A' }])] }),
    isBad,
    'one machine in two windows',
  );
});

test('machine modes: scheduled machines drain, go down only from draining, up only from down', () => {
  const windows = parseScheduleJson({ windows: [window([{ hostname: 'a' }, { hostname: 'b' }])] });
  let machines = machinesForSchedule(windows, []);
  assert.equal(machines, [
    { id: { hostname: 'a' }, mode: 'DRAINING' },
    { id: { hostname: 'b' }, mode: 'DRAINING' },
  ]);
  machines = machinesDown([{ hostname: 'a' }], machines);
  assert.is(machines[0]!.mode, 'DOWN');
  assert.throws(() => machinesDown([{ hostname: 'a' }], machines), isBad, 'already down');
  assert.throws(() => machinesDown([{ hostname: 'zzz' }], machines), isBad, 'not scheduled');
  assert.throws(() => machinesForSchedule([], machines), isBad, 'a DOWN machine cannot leave the schedule');
  assert.equal(machinesForSchedule(windows, machines)[0], { id: { hostname: 'a' }, mode: 'DOWN' }, 'it stays down');
  assert.throws(() => machinesUp([{ hostname: 'b' }], machines, windows), isBad, 'b is not down');
  const up = machinesUp([{ hostname: 'a' }], machines, windows);
  assert.equal(up.machines, [{ id: { hostname: 'b' }, mode: 'DRAINING' }]);
  assert.equal(up.windows[0]!.machineIds, [{ hostname: 'b' }], 'an up machine leaves the schedule');
});

test('machine ids match agents by every field they give', () => {
  const agent = { hostname: 'Node-1.test', ip: '10.0.0.1' };
  assert.ok(agentOnMachine({ hostname: 'node-1.test' }, agent));
  assert.ok(agentOnMachine({ ip: '10.0.0.1' }, agent));
  assert.ok(agentOnMachine({ hostname: 'node-1.test', ip: '10.0.0.1' }, agent));
  assert.not.ok(agentOnMachine({ hostname: 'node-1.test', ip: '10.0.0.2' }, agent));
  assert.not.ok(agentOnMachine({}, agent));
  assert.throws(() => parseMachineIds([]), isBad);
  assert.throws(() => parseMachineIds([{ hostname: 'a' }, { hostname: 'A' }]), isBad);
});

test.run();
