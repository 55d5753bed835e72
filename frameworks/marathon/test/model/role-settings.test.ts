/** Marathon 1.9+ roles: the default and valid roles of an app by its top-level group's enforceRole. */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../../src/model/app-parser.js';
import { type RoleContext, roleSettingsFor } from '../../src/model/role-settings.js';

function context(enforced: Record<string, boolean>, existing: Record<string, string> = {}): RoleContext {
  return {
    mesosRole: 'marathon',
    enforceRoleOf: (g) => enforced[g],
    existingRoleOf: (id) => existing[id],
  };
}

const settings = suite('role settings - default and valid roles by group');

settings('an app in the root group: --mesos_role only', () => {
  assert.equal(roleSettingsFor(context({}), '/web'), { defaultRole: 'marathon', validRoles: ['marathon'] });
});

settings('a top-level group with enforceRole: its name is the default and the only role', () => {
  const s = roleSettingsFor(context({ '/dev': true }), '/dev/api/web');
  assert.equal(s, { defaultRole: 'dev', validRoles: ['dev'] });
});

settings('a top-level group without enforceRole: --mesos_role by default, the group role allowed', () => {
  assert.equal(roleSettingsFor(context({ '/dev': false }), '/dev/web'), {
    defaultRole: 'marathon',
    validRoles: ['marathon', 'dev'],
  });
  assert.equal(roleSettingsFor(context({}), '/dev/web').defaultRole, 'marathon', 'no explicit group: not enforced');
});

settings('an existing app may keep its role; the change override wins over the stored flag', () => {
  const ctx = context({ '/dev': true }, { '/dev/web': 'marathon' });
  assert.equal(roleSettingsFor(ctx, '/dev/web').validRoles, ['dev', 'marathon']);
  assert.equal(roleSettingsFor(ctx, '/dev/new', false).defaultRole, 'marathon');
  assert.equal(roleSettingsFor(context({}), '/dev/new', true).defaultRole, 'dev');
});

const parsing = suite('app parsing with roles - default role and the /role violation');
const roles = (ctx: RoleContext) => (id: string, enforce?: boolean) => roleSettingsFor(ctx, id, enforce);

parsing('an app in an enforcing group gets the group role when it names none', () => {
  const r = parseAppDefinition({ id: '/dev/web', cmd: 'sleep 1' }, { roles: roles(context({ '/dev': true })) });
  assert.ok(r.ok);
  if (r.ok) assert.is(r.spec.role, 'dev');
});

parsing('a role outside the valid ones is a 422 violation at /role, with Marathon-style text', () => {
  const r = parseAppDefinition(
    { id: '/dev/web', cmd: 'sleep 1', role: 'marathon' },
    { roles: roles(context({ '/dev': true })) },
  );
  assert.not.ok(r.ok);
  if (!r.ok) {
    assert.is(r.kind, 'semantic');
    assert.equal(r.violations, [{ path: '/role', errors: ['got marathon, expected one of: [dev]'] }]);
  }
  const root = parseAppDefinition({ id: '/web', cmd: 'sleep 1', role: 'dev' }, { roles: roles(context({})) });
  assert.not.ok(root.ok, 'an app in the root group may only have --mesos_role');
});

parsing('acceptedResourceRoles is checked against the resolved role', () => {
  const ok = parseAppDefinition(
    { id: '/dev/web', cmd: 'sleep 1', acceptedResourceRoles: ['dev'] },
    { roles: roles(context({ '/dev': true })) },
  );
  assert.ok(ok.ok, JSON.stringify(ok));
});

parsing('the multirole docs example is valid with --mesos_role slave_public', () => {
  const body = JSON.parse(
    readFileSync(new URL('../fixtures/corpus/docs-multirole_block1.json', import.meta.url), 'utf8'),
  ) as unknown;
  const ctx: RoleContext = {
    mesosRole: 'slave_public',
    enforceRoleOf: () => undefined,
    existingRoleOf: () => undefined,
  };
  const r = parseAppDefinition(body, { roles: roles(ctx) });
  assert.ok(r.ok, JSON.stringify(r));
});

settings.run();
parsing.run();
