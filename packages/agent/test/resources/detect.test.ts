import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode, silentLogger } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent } from '../../src/index.js';
import {
  defaultResources,
  detectHostFacts,
  resolveAgentAttributes,
  resolveAgentResources,
} from '../../src/resources/detect.js';

const test = suite('agent resources');
const GB = 1024;

function throwsCode(fn: () => unknown, code: string, includes: string): void {
  try {
    fn();
  } catch (err) {
    assert.ok(hasErrorCode(err, code as never), `expected ${code}, got ${String(err)}`);
    assert.match((err as Error).message, includes);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('detection follows Mesos: all cores, mem − 1 GB (≥ 2 GB), disk − 5 GB (≥ 10 GB), ports [31000-32000]', () => {
  const r = defaultResources({ cpus: 8, memTotalMb: 16 * GB, diskTotalMb: 100 * GB });
  assert.is(r.toString(), `cpus:8;mem:${15 * GB};disk:${95 * GB};ports:[31000-32000]`);
});

test('detection halves small memory and disks, and falls back when nothing is known', () => {
  assert.is(
    defaultResources({ cpus: 1, memTotalMb: 1500, diskTotalMb: 8000 }).toString(),
    'cpus:1;mem:750;disk:4000;ports:[31000-32000]',
  );
  assert.is(
    defaultResources({ cpus: 0, memTotalMb: undefined, diskTotalMb: undefined }).toString(),
    `cpus:1;mem:${GB};disk:${10 * GB};ports:[31000-32000]`,
  );
});

test('detectHostFacts reads this host (for a work dir that does not exist yet)', () => {
  const facts = detectHostFacts(join(tmpdir(), 'agora-not-there', 'deeper'));
  assert.ok(facts.cpus >= 1);
  assert.ok((facts.memTotalMb ?? 0) > 0);
  assert.ok((facts.diskTotalMb ?? 0) > 0);
});

test('--resources is used as given; what it leaves out is detected', () => {
  const facts = { cpus: 4, memTotalMb: 8 * GB, diskTotalMb: 50 * GB };
  assert.is(
    resolveAgentResources('cpus:2;mem:1024;disk:500;ports:[31000-31009]', facts).toString(),
    'cpus:2;mem:1024;disk:500;ports:[31000-31009]',
  );
  assert.is(
    resolveAgentResources('cpus(web):1;mem:512;gpus:1', facts).toString(),
    `cpus(web):1;gpus:1;mem:512;disk:${45 * GB};ports:[31000-32000]`,
    'a reserved amount counts as given (as in Mesos): no unreserved cpus are added',
  );
  assert.is(resolveAgentResources(undefined, facts).toString(), defaultResources(facts).toString());
});

test('bad --resources or --attributes: a typed error naming the flag and the value', () => {
  const facts = { cpus: 1, memTotalMb: GB, diskTotalMb: GB };
  throwsCode(() => resolveAgentResources('cpus:abc', facts), 'AGORA_ERR_BAD_RESOURCES', "--resources 'cpus:abc'");
  throwsCode(() => resolveAgentResources('cpus:-1', facts), 'AGORA_ERR_BAD_RESOURCES', '--resources');
  throwsCode(() => resolveAgentResources('ports:[5-1', facts), 'AGORA_ERR_BAD_RESOURCES', '--resources');
  throwsCode(() => resolveAgentAttributes('rack'), 'AGORA_ERR_BAD_ATTRIBUTES', "--attributes 'rack'");
  assert.equal(resolveAgentAttributes(undefined), []);
  assert.is(resolveAgentAttributes('rack:r1;level:5').length, 2);
});

test('an agent with bad resources, attributes or master refuses to start and leaves nothing behind', async () => {
  const root = mkdtempSync(join(tmpdir(), 'agora-agent-bad-'));
  try {
    const cases: Array<[Record<string, string>, string]> = [
      [{ resources: 'cpus:lots' }, 'AGORA_ERR_BAD_RESOURCES'],
      [{ attributes: ':x' }, 'AGORA_ERR_BAD_ATTRIBUTES'],
      [{ master: 'ftp://x' }, 'AGORA_ERR_BAD_FLAG'],
      [{ master: 'host:notaport' }, 'AGORA_ERR_BAD_FLAG'],
    ];
    for (const [override, code] of cases) {
      const workDir = join(root, 'work');
      const agent = createAgent(
        { master: '127.0.0.1:5050', port: 0, workDir, ...override },
        { logger: silentLogger() },
      );
      try {
        await agent.start();
        assert.unreachable(`should refuse ${JSON.stringify(override)}`);
      } catch (err) {
        assert.ok(hasErrorCode(err, code as never), `${JSON.stringify(override)}: ${String(err)}`);
      }
      assert.not.ok(existsSync(workDir), 'no work dir created');
      await agent.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
