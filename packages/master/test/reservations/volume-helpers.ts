/** Helpers of the persistent-volume tests (real masters, real agents). */
import { FakeClock } from '@agora/common';
import { agora } from '@agora/proto';
import type { Master } from '../../src/index.js';
import { CallType, EventType, isOffers, type SchedulerPeer, type TestMaster } from '../support/harness.js';

const DYNAMIC = agora.v1.Resource.ReservationInfo.Type.DYNAMIC;

/** A master running on the real clock, seen through the harness' TestMaster shape. */
export function asTestMaster(master: Master): TestMaster {
  return {
    master,
    clock: new FakeClock(), // unused: these masters run on the real clock
    wsUrl: (path) => `ws://127.0.0.1:${master.port}/agora/v1/${path}`,
    async getJson(path) {
      return (await (await fetch(`${master.url}${path}`)).json()) as Record<string, unknown>;
    },
    close: () => master.close(),
  };
}

/** A scalar reserved dynamically for `role` ('*': unreserved). */
export function db(name: string, value: number, role = 'db'): agora.v1.Resource.$Properties {
  return {
    name,
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value },
    ...(role === '*' ? { role: '*' } : { reservations: [{ type: DYNAMIC, role }] }),
  };
}

/** A persistent volume `id` of `size` MB on disk dynamically reserved for 'db', seen at `path` in the sandbox. */
export function volume(id: string, size: number, path: string): agora.v1.Resource.$Properties {
  return {
    ...db('disk', size),
    disk: { persistence: { id }, volume: { container_path: path, mode: agora.v1.Volume.Mode.RW } },
  };
}

/** The next offer matching `pred`; other offers are declined (refuse 0 s) so they come back. */
export async function nextOfferWith(
  s: SchedulerPeer,
  pred: (o: agora.v1.Offer) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<agora.v1.Offer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}`);
    const event = await s.next(isOffers, what, left);
    let found: agora.v1.Offer | undefined;
    const decline: string[] = [];
    for (const o of event.offers?.offers ?? []) {
      if (found === undefined && pred(o)) found = o;
      else decline.push(o.id.value);
    }
    if (decline.length > 0) {
      s.send({
        type: CallType.DECLINE,
        framework_id: { value: s.frameworkId },
        decline: { offer_ids: decline.map((value) => ({ value })), filters: { refuse_seconds: 0 } },
      });
    }
    if (found !== undefined) return found;
  }
}

/** Acknowledge every status update with a uuid as it arrives; returns a function that stops. */
export function acknowledgeAll(s: SchedulerPeer): () => void {
  const sub = s.channel.onDidReceive((e) => {
    const status = e.type === EventType.UPDATE ? e.update?.status : undefined;
    if (status?.uuid && status.uuid.length > 0 && status.agent_id) {
      s.send({
        type: CallType.ACKNOWLEDGE,
        framework_id: { value: s.frameworkId },
        acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
      });
    }
  });
  return () => sub.dispose();
}
