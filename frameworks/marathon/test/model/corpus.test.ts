/**
 * The real Marathon definitions of the corpus (test/fixtures/corpus, from
 * mesosphere/marathon): every valid app is accepted, every invalid one is
 * rejected at the path and with the message Marathon gives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppDefinition, JsonObject } from '../../src/model/app-definition.js';
import { mergeAppUpdate, parseAppDefinition } from '../../src/model/app-parser.js';
import { groupsOf, parentOf, parseGroupUpdate } from '../../src/model/group.js';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');

/** Files that are app bodies: an object with an id, not a group. */
function appFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .filter((f) => {
      const json = JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
      const o = json as Record<string, unknown>;
      return o['id'] !== undefined && o['apps'] === undefined && o['groups'] === undefined;
    })
    .sort();
}

function load(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

/** PATCH/PUT bodies (partial updates), per SOURCES.md: applied to an existing app. */
const PARTIAL_BODIES = new Set(['api-examples_app_patch.json']);

const valid = suite('corpus - valid Marathon apps are accepted');

const validFiles = appFiles(CORPUS);

valid('the corpus has valid app files to check', () => {
  assert.ok(validFiles.length >= 25, `only ${validFiles.length} app files found in ${CORPUS}`);
});

for (const file of validFiles) {
  valid(`${file} is accepted`, () => {
    const body = load(join(CORPUS, file));
    if (PARTIAL_BODIES.has(file)) {
      const id = (body as JsonObject)['id'] as string;
      const base = parseAppDefinition({ id, cmd: 'sleep 1000' });
      assert.ok(base.ok);
      if (!base.ok) return;
      const current: AppDefinition = {
        ...base.spec,
        version: '2024-01-01T00:00:00.000Z',
        versionInfo: { lastScalingAt: '2024-01-01T00:00:00.000Z', lastConfigChangeAt: '2024-01-01T00:00:00.000Z' },
      };
      const result = parseAppDefinition(mergeAppUpdate(current, body as JsonObject), { id });
      assert.ok(result.ok, JSON.stringify(result));
      return;
    }
    // Files using secrets are valid on a Marathon started with `--enable_features secrets`.
    const usesSecrets = (body as JsonObject)['secrets'] !== undefined;
    const result = parseAppDefinition(body, usesSecrets ? { enabledFeatures: ['secrets'] } : {});
    assert.ok(result.ok, `${file}: ${JSON.stringify(result.ok ? {} : result.violations)}`);
    if (usesSecrets) {
      const without = parseAppDefinition(body);
      assert.not.ok(without.ok, `${file} is accepted without --enable_features secrets`);
    }
    if (result.ok) assert.equal(result.unknownFields, [], `${file} has fields Marathon does not know`);
  });
}

valid.run();

/** Each invalid app file: where Marathon rejects it and with which message (invalid/README.md). */
const EXPECTED_REJECTIONS: Record<string, { kind: 'json' | 'semantic'; path: string; error: string }> = {
  'api-examples_app.json': {
    kind: 'semantic',
    path: '/',
    error: "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
  },
  'derived-system-apps_fake-framework-instances-2.json': {
    kind: 'semantic',
    path: '/',
    error: 'Single instance app may only have one instance',
  },
  'docs-secrets_block2.json': { kind: 'semantic', path: '/container/docker', error: 'not defined' },
  'test-AppDefinitionFormatsTest_docker-credential.json': {
    kind: 'semantic',
    path: '/container/docker/credential',
    error: 'must be empty',
  },
  'test-AppDefinitionFormatsTest_empty-container.json': {
    kind: 'semantic',
    path: '/container/docker',
    error: 'not defined',
  },
  'test-AppDefinitionFormatsTest_empty-env-key.json': {
    kind: 'semantic',
    path: '/env',
    error: 'environment variable name must not be empty',
  },
  'test-AppDefinitionFormatsTest_mesos-docker-network.json': {
    kind: 'semantic',
    path: '/container/docker/network',
    error: 'must be empty',
  },
  'test-AppDefinitionFormatsTest_mesos-docker-portMappings.json': {
    kind: 'semantic',
    path: '/container/docker/portMappings',
    error: 'must be empty',
  },
  'test-AppDefinitionFormatsTest_ports-vs-portDefinitions.json': {
    kind: 'semantic',
    path: '/',
    error: 'cannot specify both ports and port definitions',
  },
  'test-AppDefinitionFormatsTest_root-id.json': {
    kind: 'semantic',
    path: '/id',
    error: 'Path must contain at least one path element',
  },
  'test-AppDefinitionFormatsTest_unknown-killSelection.json': {
    kind: 'json',
    path: '/killSelection',
    error: 'error.unknown.enum.literal',
  },
  'test-AppsResourceTest_ipAddress-discovery-docker.json': {
    kind: 'semantic',
    path: '/ipAddress',
    error: 'ipAddress/discovery is not allowed for Docker containers',
  },
};

const invalid = suite('corpus - invalid Marathon apps are rejected where Marathon rejects them');
const invalidFiles = appFiles(join(CORPUS, 'invalid'));

invalid('every invalid app file has an expected rejection', () => {
  assert.ok(invalidFiles.length >= 12);
  assert.equal(invalidFiles, Object.keys(EXPECTED_REJECTIONS).sort());
});

for (const file of invalidFiles) {
  invalid(`${file} is rejected`, () => {
    const expected = EXPECTED_REJECTIONS[file];
    assert.ok(expected !== undefined, `no expectation for ${file}`);
    if (expected === undefined) return;
    const result = parseAppDefinition(load(join(CORPUS, 'invalid', file)));
    assert.not.ok(result.ok, `${file} was accepted`);
    if (result.ok) return;
    assert.is(result.kind, expected.kind);
    const at = result.violations.find((v) => v.path === expected.path);
    assert.ok(at !== undefined, `${file}: no violation at ${expected.path}: ${JSON.stringify(result.violations)}`);
    assert.ok(at?.errors.includes(expected.error), `${file}: ${JSON.stringify(at)}`);
  });
}

invalid.run();

/** Files that are group bodies: an object with `apps` or `groups`. */
function groupFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .filter((f) => {
      const json = JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
      const o = json as Record<string, unknown>;
      return o['apps'] !== undefined || o['groups'] !== undefined;
    })
    .sort();
}

const groups = suite('corpus - Marathon groups');
const validGroups = groupFiles(CORPUS);

groups('the corpus has group files to check', () => {
  assert.ok(validGroups.length >= 4, `only ${validGroups.length} group files`);
});

for (const file of validGroups) {
  groups(`${file} is accepted with every app canonical and a direct child of its group`, () => {
    const result = parseGroupUpdate(load(join(CORPUS, file)), '/');
    assert.ok(result.ok, `${file}: ${JSON.stringify(result.ok ? {} : result.violations)}`);
    if (!result.ok || result.update.kind !== 'tree') return;
    for (const node of groupsOf(result.update.root)) {
      for (const app of node.apps ?? []) assert.is(parentOf(app.spec.id), node.id);
    }
  });
}

groups('test-GroupsResourceTest_app-not-child-of-group.json is rejected at /apps(0)/id (POST /v2/groups/foo)', () => {
  const result = parseGroupUpdate(
    load(join(CORPUS, 'invalid', 'test-GroupsResourceTest_app-not-child-of-group.json')),
    '/foo',
  );
  assert.not.ok(result.ok);
  if (result.ok) return;
  assert.is(result.kind, 'semantic');
  assert.equal(result.violations, [{ path: '/apps(0)/id', errors: ["Identifier is not child of '/foo/sub'"] }]);
});

groups.run();
