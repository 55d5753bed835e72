/**
 * Maintenance (Mesos docs/maintenance.md): the schedule and machine modes live
 * in the registry; this component applies them.
 *
 * - DRAINING machines: every connected framework with tasks on an agent of the machine gets one inverse
 *   offer for that agent (INVERSE_OFFERS event, checked every allocation interval and on schedule changes);
 *   its ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS is recorded and shown by `/maintenance/status`.
 * - `/machine/down`: the machine's agents are removed (refused, tasks TASK_GONE_BY_OPERATOR / TASK_LOST) and
 *   agents on a DOWN machine are refused registration until `/machine/up`.
 */
import { AgoraError, type Clock, type Disposable, DisposableStore, Emitter, type Logger, newUuid } from '@agora/common';
import { agora } from '@agora/proto';
import type { AgentManager } from '../agents/agent-manager.js';
import type { FrameworkManager } from '../frameworks/framework-manager.js';
import { updateSchedule } from '../registry/operations.js';
import type { Registrar } from '../registry/registrar.js';
import { isEndedState, type TaskTracker } from '../tasks/task-tracker.js';
import {
  agentOnMachine,
  type MachineId,
  type MachineState,
  type MaintenanceWindow,
  machineKey,
  machinesDown,
  machinesForSchedule,
  machinesUp,
  scheduleJson,
} from './schedule.js';

const EventType = agora.v1.scheduler.Event.Type;
const Mode = agora.v1.registry.Registry.MachineMode;

export interface MaintenanceParts {
  clock: Clock;
  logger: Logger;
  registrar: Registrar;
  agents: AgentManager;
  frameworks: FrameworkManager;
  tasks: TaskTracker;
  /** Remove an agent whose machine went down. */
  removeAgentForMaintenance(agentId: string): Promise<void>;
  intervalMs: number;
}

type InverseStatus = 'UNKNOWN' | 'ACCEPT' | 'DECLINE';

interface InverseOfferRecord {
  id: string;
  agentId: string;
  frameworkId: string;
  status: InverseStatus;
  /** ms epoch of the last change */
  timestamp: number;
  /** After an answer: ms epoch from which the inverse offer is made again (the answer's refuse filter). */
  againAt: number | undefined;
}

export class Maintenance implements Disposable {
  private readonly store = new DisposableStore();
  /** By `${agentId}\0${frameworkId}`. */
  private readonly inverse = new Map<string, InverseOfferRecord>();
  private readonly unavailabilityChanged = new Emitter<readonly string[]>();

  /**
   * The unavailability of these agents changed (schedule update, machine up): their outstanding offers must be
   * rescinded so that new offers carry the new window (Mesos' Master::updateUnavailability).
   */
  readonly onDidChangeUnavailability = this.unavailabilityChanged.event;

  constructor(private readonly parts: MaintenanceParts) {}

  start(): void {
    this.store.add(this.parts.clock.setInterval(() => this.sendInverseOffers(), this.parts.intervalMs));
  }

  windows(): MaintenanceWindow[] {
    const { registrar } = this.parts;
    if (!registrar.isRecovered) return [];
    return (registrar.registry.schedules[0]?.windows ?? []).map((w) => ({
      machineIds: w.machine_ids.map((m) => ({
        ...(m.hostname ? { hostname: m.hostname } : {}),
        ...(m.ip ? { ip: m.ip } : {}),
      })),
      startNs: Number(w.start_ns),
      durationNs: w.duration_ns === null || w.duration_ns === undefined ? undefined : Number(w.duration_ns),
    }));
  }

  machines(): MachineState[] {
    const { registrar } = this.parts;
    if (!registrar.isRecovered) return [];
    return registrar.registry.machines.map((m) => ({
      id: { ...(m.id.hostname ? { hostname: m.id.hostname } : {}), ...(m.id.ip ? { ip: m.id.ip } : {}) },
      mode: m.mode === Mode.DOWN ? 'DOWN' : 'DRAINING',
    }));
  }

  scheduleJson(): Record<string, unknown> {
    return scheduleJson(this.windows());
  }

  /**
   * The maintenance window of the agent's machine while it is DRAINING (Mesos puts it in every offer from the
   * agent as `Offer.unavailability`); undefined when the machine is not scheduled.
   */
  unavailabilityOf(agent: {
    hostname: string;
    ip: string | undefined;
  }): agora.v1.Unavailability.$Properties | undefined {
    const machine = this.machines().find((m) => m.mode === 'DRAINING' && agentOnMachine(m.id, agent));
    if (machine === undefined) return undefined;
    const key = machineKey(machine.id);
    const window = this.windows().find((w) => w.machineIds.some((id) => machineKey(id) === key));
    if (window === undefined) return undefined;
    return unavailabilityJson(window);
  }

  /** Whether an agent at (hostname, ip) is on a DOWN machine (it is refused then). */
  isDown(agent: { hostname: string; ip: string | undefined }): boolean {
    return this.machines().some((m) => m.mode === 'DOWN' && agentOnMachine(m.id, agent));
  }

  /** Replace the schedule. Throws AGORA_ERR_BAD_REQUEST (nothing changed) for an invalid change. */
  async updateSchedule(windows: MaintenanceWindow[]): Promise<void> {
    const machines = machinesForSchedule(windows, this.machines());
    const before = this.unavailabilityByAgent();
    await this.store_(windows, machines);
    this.fireUnavailabilityChanges(before);
    // Statuses of machines no longer draining are forgotten.
    for (const [key, record] of this.inverse) {
      if (!this.drainingAgentIds().has(record.agentId)) this.inverse.delete(key);
    }
    this.sendInverseOffers();
  }

  async down(ids: MachineId[]): Promise<void> {
    const machines = machinesDown(ids, this.machines());
    await this.store_(this.windows(), machines);
    const agentIds = this.parts.agents
      .all()
      .filter((a) => ids.some((id) => agentOnMachine(id, a)))
      .map((a) => a.id);
    for (const agentId of agentIds) {
      for (const [key, record] of this.inverse) if (record.agentId === agentId) this.inverse.delete(key);
      await this.parts.removeAgentForMaintenance(agentId);
    }
  }

  async up(ids: MachineId[]): Promise<void> {
    const { machines, windows } = machinesUp(ids, this.machines(), this.windows());
    const before = this.unavailabilityByAgent();
    await this.store_(windows, machines);
    this.fireUnavailabilityChanges(before);
  }

  /** Mesos' `/maintenance/status` JSON. */
  statusJson(): Record<string, unknown> {
    const machines = this.machines();
    const agents = this.parts.agents.all();
    return {
      draining_machines: machines
        .filter((m) => m.mode === 'DRAINING')
        .map((m) => {
          const onMachine = new Set(agents.filter((a) => agentOnMachine(m.id, a)).map((a) => a.id));
          return {
            id: m.id,
            statuses: [...this.inverse.values()]
              .filter((r) => onMachine.has(r.agentId))
              .map((r) => ({
                agent_id: { value: r.agentId },
                framework_id: { value: r.frameworkId },
                status: r.status,
                timestamp: { nanoseconds: r.timestamp * 1_000_000 },
              })),
          };
        }),
      down_machines: machines.filter((m) => m.mode === 'DOWN').map((m) => m.id),
    };
  }

  /**
   * ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS from a framework; unknown ids are ignored. As in Mesos the
   * machine's inverse offer is made again once the answer's filter (`refuse_seconds`, default 5) expires.
   */
  respond(frameworkId: string, inverseOfferIds: readonly string[], accept: boolean, refuseSeconds = 5): void {
    const ids = new Set(inverseOfferIds);
    for (const record of this.inverse.values()) {
      if (record.frameworkId !== frameworkId || !ids.has(record.id)) continue;
      record.status = accept ? 'ACCEPT' : 'DECLINE';
      record.timestamp = this.parts.clock.now();
      record.againAt = record.timestamp + Math.max(0, refuseSeconds) * 1000;
      this.parts.logger.info({ frameworkId, agentId: record.agentId, status: record.status }, 'inverse offer answered');
    }
  }

  /** Send an inverse offer to every connected framework with tasks on a draining agent that has none yet. */
  sendInverseOffers(): void {
    const { agents, tasks, frameworks, clock } = this.parts;
    const machines = this.machines().filter((m) => m.mode === 'DRAINING');
    if (machines.length === 0) return;
    const windows = this.windows();
    for (const agent of agents.all()) {
      const machine = machines.find((m) => agentOnMachine(m.id, agent));
      if (machine === undefined) continue;
      const window = windows.find((w) => w.machineIds.some((id) => machineKey(id) === machineKey(machine.id)));
      if (window === undefined) continue;
      const frameworkIds = new Set(
        tasks
          .byAgent(agent.id)
          .filter((t) => !isEndedState(t.state))
          .map((t) => t.frameworkId),
      );
      for (const frameworkId of frameworkIds) {
        const key = `${agent.id}\u0000${frameworkId}`;
        if (frameworks.get(frameworkId)?.connected !== true) continue;
        const previous = this.inverse.get(key);
        if (previous !== undefined && (previous.againAt === undefined || clock.now() < previous.againAt)) continue;
        const record: InverseOfferRecord = {
          id: newUuid(),
          agentId: agent.id,
          frameworkId,
          // The last answer stays visible in /maintenance/status until a new one comes.
          status: previous?.status ?? 'UNKNOWN',
          timestamp: previous?.timestamp ?? clock.now(),
          againAt: undefined,
        };
        this.inverse.set(key, record);
        frameworks.send(frameworkId, {
          type: EventType.INVERSE_OFFERS,
          inverse_offers: {
            inverse_offers: [
              {
                id: { value: record.id },
                framework_id: { value: frameworkId },
                agent_id: { value: agent.id },
                unavailability: unavailabilityJson(window),
              },
            ],
          },
        });
      }
    }
  }

  dispose(): void {
    this.store.dispose();
    this.unavailabilityChanged.dispose();
  }

  /** Each connected agent's offer unavailability, as a comparable string ('' when none). */
  private unavailabilityByAgent(): Map<string, string> {
    return new Map(this.parts.agents.all().map((a) => [a.id, JSON.stringify(this.unavailabilityOf(a) ?? '')]));
  }

  private fireUnavailabilityChanges(before: ReadonlyMap<string, string>): void {
    const after = this.unavailabilityByAgent();
    const changed = [...after].filter(([id, u]) => (before.get(id) ?? JSON.stringify('')) !== u).map(([id]) => id);
    if (changed.length > 0) this.unavailabilityChanged.fire(changed);
  }

  private drainingAgentIds(): Set<string> {
    const draining = this.machines().filter((m) => m.mode === 'DRAINING');
    return new Set(
      this.parts.agents
        .all()
        .filter((a) => draining.some((m) => agentOnMachine(m.id, a)))
        .map((a) => a.id),
    );
  }

  private async store_(windows: MaintenanceWindow[], machines: MachineState[]): Promise<void> {
    if (!this.parts.registrar.isRecovered)
      throw new AgoraError('AGORA_ERR_REGISTRY', 'the registry is not recovered yet');
    await this.parts.registrar.apply(
      updateSchedule(
        windows.length === 0
          ? []
          : [
              {
                windows: windows.map((w) => ({
                  machine_ids: w.machineIds,
                  start_ns: w.startNs,
                  ...(w.durationNs === undefined ? {} : { duration_ns: w.durationNs }),
                })),
              },
            ],
        machines.map((m) => ({ id: m.id, mode: m.mode === 'DOWN' ? Mode.DOWN : Mode.DRAINING })),
      ),
    );
  }
}

function unavailabilityJson(window: MaintenanceWindow): agora.v1.Unavailability.$Properties {
  return {
    start: { nanoseconds: window.startNs },
    ...(window.durationNs === undefined ? {} : { duration: { nanoseconds: window.durationNs } }),
  };
}
