/**
 * GPUs in the allocator (Mesos' --filter_gpu_resources and --fair_sharing_excluded_resource_names=gpus):
 * an agent with gpus is offered only to frameworks with the GPU_RESOURCES capability, and gpus do not count in
 * DRF shares. Hand-computed examples; each fails without its rule.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { agora } from '@agora/proto';
import { allocate, RefusalReason } from '../../src/allocator/index.js';
import {
  type AgentPeer,
  cleanup,
  isOffers,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  schedulerBarrier,
  startMaster,
  subscribeScheduler,
  type TestMaster,
} from '../support/harness.js';
import { agent, framework } from './helpers.js';

const test = suite('allocator gpus');

test('an agent with gpus goes only to a GPU-aware framework; others get the agents without gpus', () => {
  const result = allocate(
    {
      agents: [agent('a-gpu', 'cpus:8;mem:8192;gpus:2'), agent('b-cpu', 'cpus:8;mem:8192')],
      // `plain` sorts first (nothing allocated, id order) but may not take the GPU agent.
      frameworks: [framework('a-plain'), { ...framework('b-gpu'), gpuAware: true }],
      filters: [],
    },
    0,
  );
  const byAgent = Object.fromEntries(result.offers.map((o) => [o.agentId, o.frameworkId]));
  assert.is(byAgent['a-gpu'], 'b-gpu');
  assert.is(byAgent['b-cpu'], 'a-plain');
  assert.ok(
    result.refusals.some(
      (r) => r.frameworkId === 'a-plain' && r.agentId === 'a-gpu' && r.reason === RefusalReason.GPU_NOT_SUPPORTED,
    ),
  );
});

test('with only GPU-unaware frameworks, a GPU agent is not offered at all (unless the filter is off)', () => {
  const snapshot = {
    agents: [agent('gpu-1', 'cpus:8;mem:8192;gpus:1')],
    frameworks: [framework('plain')],
    filters: [],
  };
  assert.equal(allocate(snapshot, 0).offers, []);
  const unfiltered = allocate(snapshot, 0, undefined, { filterGpuResources: false });
  assert.is(unfiltered.offers.length, 1);
});

test('gpus do not count in DRF shares: holding gpus does not put a framework behind for cpus', () => {
  // Cluster: cpus 20, mem 20000, gpus 4 (gpu-0 is fully used by `gpu`, which holds all 4 gpus and cpus 2).
  // With gpus counted, `gpu`'s share is 4/4 = 1.0 and `cpu`'s (cpus 4/20 = 0.2) is lower: `cpu` is first.
  // Without gpus, `gpu`'s share is cpus 2/20 = 0.1 < 0.2: `gpu` is first for the free cpu agent.
  const snapshot = {
    agents: [
      agent('gpu-0', 'cpus:2;mem:2000;gpus:4', 'cpus:2;mem:2000;gpus:4'),
      agent('cpu-0', 'cpus:4;mem:4000', 'cpus:4;mem:4000'),
      agent('cpu-1', 'cpus:14;mem:14000'),
    ],
    frameworks: [
      { ...framework('gpu', { allocated: 'cpus:2;mem:2000;gpus:4' }), gpuAware: true },
      framework('cpu', { allocated: 'cpus:4;mem:4000' }),
    ],
    filters: [],
  };
  assert.equal(
    allocate(snapshot, 0).offers.map((o) => [o.agentId, o.frameworkId]),
    [['cpu-1', 'gpu']],
  );
  const counted = allocate(snapshot, 0, undefined, { fairSharingExcludedResourceNames: [] });
  assert.equal(
    counted.offers.map((o) => [o.agentId, o.frameworkId]),
    [['cpu-1', 'cpu']],
  );
});

test('a real master offers a GPU agent only to the framework that subscribed with GPU_RESOURCES', async () => {
  let t: TestMaster | undefined;
  let plain: SchedulerPeer | undefined;
  let gpu: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    plain = await subscribeScheduler(t, { name: 'plain' });
    gpu = await subscribeScheduler(t, {
      name: 'gpu',
      capabilities: [agora.v1.FrameworkInfo.Capability.Type.GPU_RESOURCES],
    });
    a = await registerAgent(t, { resources: [scalar('cpus', 4), scalar('mem', 4096), scalar('gpus', 2)] });
    const offer = await nextOffer(gpu);
    assert.is(offer.resources.find((r) => r.name === 'gpus')?.scalar?.value, 2);
    await schedulerBarrier(plain, a.agentId);
    assert.is(plain.all(isOffers).length, 0, 'no offer of the GPU agent to the plain framework');
  } finally {
    await cleanup(t, plain, gpu, a);
  }
});

test.run();
