/**
 * Maintenance schedules (Mesos docs/maintenance.md), as pure functions: parse
 * and validate the operator's JSON, derive machine modes, and match machines
 * to agents. No I/O.
 *
 * - A schedule is a list of windows; each window names machines (hostname and/or IP) and an unavailability
 *   `{start:{nanoseconds}, duration:{nanoseconds}}`. A machine may appear in one window only.
 * - Machines in the schedule are DRAINING (offers from them are still made; frameworks with tasks there get
 *   inverse offers) until the operator brings them DOWN (`/machine/down`), then UP again (`/machine/up`,
 *   which also removes them from the schedule). A DOWN machine must stay in every new schedule.
 */
import { AgoraError } from '@agora/common';

export interface MachineId {
  hostname?: string;
  ip?: string;
}

export interface MaintenanceWindow {
  machineIds: MachineId[];
  startNs: number;
  durationNs: number | undefined;
}

export type MachineMode = 'DRAINING' | 'DOWN';

export interface MachineState {
  id: MachineId;
  mode: MachineMode;
}

function bad(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', message);
}

/** Hostnames compare case-insensitively (Mesos lower-cases them). */
export function normalizeMachine(id: MachineId): MachineId {
  const out: MachineId = {};
  if (id.hostname !== undefined && id.hostname !== '') out.hostname = id.hostname.toLowerCase();
  if (id.ip !== undefined && id.ip !== '') out.ip = id.ip;
  return out;
}

export function machineKey(id: MachineId): string {
  const n = normalizeMachine(id);
  return `${n.hostname ?? ''}|${n.ip ?? ''}`;
}

/** Whether an agent (hostname, ip) runs on the machine: every field the machine id gives must match. */
export function agentOnMachine(id: MachineId, agent: { hostname: string; ip: string | undefined }): boolean {
  const n = normalizeMachine(id);
  if (n.hostname !== undefined && n.hostname !== agent.hostname.toLowerCase()) return false;
  if (n.ip !== undefined && n.ip !== agent.ip) return false;
  return n.hostname !== undefined || n.ip !== undefined;
}

function parseMachineId(value: unknown, where: string): MachineId {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`${where} must be an object`);
  const v = value as Record<string, unknown>;
  const id: MachineId = {};
  for (const field of ['hostname', 'ip'] as const) {
    const x = v[field];
    if (x === undefined) continue;
    if (typeof x !== 'string') throw bad(`${where}.${field} must be a string`);
    if (x !== '') id[field] = x;
  }
  if (id.hostname === undefined && id.ip === undefined) throw bad(`${where} needs a hostname or an ip`);
  return normalizeMachine(id);
}

/** A JSON array of machine ids (the body of /machine/down and /machine/up). Throws AGORA_ERR_BAD_REQUEST. */
export function parseMachineIds(body: unknown): MachineId[] {
  if (!Array.isArray(body) || body.length === 0) throw bad('expected a non-empty JSON array of machine ids');
  const ids = body.map((m, i) => parseMachineId(m, `machine_ids[${i}]`));
  const keys = new Set(ids.map(machineKey));
  if (keys.size !== ids.length) throw bad('a machine is listed twice');
  return ids;
}

function nanoseconds(value: unknown, where: string, required: boolean): number | undefined {
  if (value === undefined && !required) return undefined;
  const ns = (value as { nanoseconds?: unknown } | null | undefined)?.nanoseconds;
  if (typeof ns !== 'number' || !Number.isFinite(ns) || (typeof ns === 'number' && ns < 0)) {
    throw bad(`${where}.nanoseconds must be a non-negative number`);
  }
  return ns;
}

/** Parse Mesos' schedule JSON `{"windows":[…]}`. Throws AGORA_ERR_BAD_REQUEST and builds nothing. */
export function parseScheduleJson(body: unknown): MaintenanceWindow[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the schedule must be an object');
  const windows = (body as { windows?: unknown }).windows ?? [];
  if (!Array.isArray(windows)) throw bad('schedule.windows must be an array');
  const seen = new Set<string>();
  return windows.map((w, i) => {
    const where = `windows[${i}]`;
    if (w === null || typeof w !== 'object') throw bad(`${where} must be an object`);
    const win = w as { machine_ids?: unknown; unavailability?: unknown };
    if (!Array.isArray(win.machine_ids) || win.machine_ids.length === 0) {
      throw bad(`${where}.machine_ids must be a non-empty array`);
    }
    const machineIds = win.machine_ids.map((m, j) => parseMachineId(m, `${where}.machine_ids[${j}]`));
    for (const id of machineIds) {
      const key = machineKey(id);
      if (seen.has(key)) throw bad(`machine ${key} appears in more than one window`);
      seen.add(key);
    }
    const u = win.unavailability as { start?: unknown; duration?: unknown } | undefined;
    if (u === undefined || u === null || typeof u !== 'object') throw bad(`${where}.unavailability is required`);
    return {
      machineIds,
      startNs: nanoseconds(u.start, `${where}.unavailability.start`, true)!,
      durationNs: nanoseconds(u.duration, `${where}.unavailability.duration`, false),
    };
  });
}

export function scheduleJson(windows: readonly MaintenanceWindow[]): Record<string, unknown> {
  return {
    windows: windows.map((w) => ({
      machine_ids: w.machineIds,
      unavailability: {
        start: { nanoseconds: w.startNs },
        ...(w.durationNs === undefined ? {} : { duration: { nanoseconds: w.durationNs } }),
      },
    })),
  };
}

/**
 * The machine modes for a new schedule: every scheduled machine is DRAINING unless it is DOWN now. Throws
 * AGORA_ERR_BAD_REQUEST when a DOWN machine would leave the schedule (bring it up first).
 */
export function machinesForSchedule(
  windows: readonly MaintenanceWindow[],
  current: readonly MachineState[],
): MachineState[] {
  const scheduled = new Map(windows.flatMap((w) => w.machineIds).map((id) => [machineKey(id), id]));
  for (const m of current) {
    if (m.mode === 'DOWN' && !scheduled.has(machineKey(m.id))) {
      throw bad(`machine ${machineKey(m.id)} is DOWN and cannot be removed from the schedule; bring it up first`);
    }
  }
  const down = new Set(current.filter((m) => m.mode === 'DOWN').map((m) => machineKey(m.id)));
  return [...scheduled.entries()].map(([key, id]) => ({ id, mode: down.has(key) ? 'DOWN' : 'DRAINING' }));
}

/** `/machine/down`: every machine must be DRAINING (scheduled). Returns the new modes. */
export function machinesDown(ids: readonly MachineId[], current: readonly MachineState[]): MachineState[] {
  const byKey = new Map(current.map((m) => [machineKey(m.id), m]));
  for (const id of ids) {
    const m = byKey.get(machineKey(id));
    if (m === undefined) throw bad(`machine ${machineKey(id)} is not in the maintenance schedule`);
    if (m.mode !== 'DRAINING') throw bad(`machine ${machineKey(id)} is not DRAINING (it is ${m.mode})`);
  }
  const keys = new Set(ids.map(machineKey));
  return current.map((m) => (keys.has(machineKey(m.id)) ? { id: m.id, mode: 'DOWN' } : m));
}

/** `/machine/up`: every machine must be DOWN; they leave the machine list and the schedule. */
export function machinesUp(
  ids: readonly MachineId[],
  current: readonly MachineState[],
  windows: readonly MaintenanceWindow[],
): { machines: MachineState[]; windows: MaintenanceWindow[] } {
  const byKey = new Map(current.map((m) => [machineKey(m.id), m]));
  for (const id of ids) {
    const m = byKey.get(machineKey(id));
    if (m === undefined || m.mode !== 'DOWN') throw bad(`machine ${machineKey(id)} is not DOWN`);
  }
  const keys = new Set(ids.map(machineKey));
  return {
    machines: current.filter((m) => !keys.has(machineKey(m.id))),
    windows: windows
      .map((w) => ({ ...w, machineIds: w.machineIds.filter((id) => !keys.has(machineKey(id))) }))
      .filter((w) => w.machineIds.length > 0),
  };
}
