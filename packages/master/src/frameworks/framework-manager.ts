/**
 * FrameworkManager: the frameworks this master knows, their scheduler
 * channels and subscription state. Framework ids are kept across reconnects
 * (a SUBSCRIBE carrying `framework_info.id` re-subscribes under that id, also
 * after a master failover). One live connection per framework: a newer one
 * replaces the older (ERROR + close 4409 to the old). Connected frameworks get
 * a HEARTBEAT every `heartbeatIntervalSeconds`.
 *
 * Frameworks may also be *recovered*: learned from an agent's re-registration
 * after a master failover, before the framework itself re-subscribes. They
 * are known but disconnected; their tasks are kept.
 */
import {
  AgoraError,
  type Clock,
  type Disposable,
  DisposableStore,
  Emitter,
  type IdGenerator,
  type Logger,
} from '@agora/common';
import { agora, type FrameworkInfo, type MasterInfo, type SchedulerEvent } from '@agora/proto';
import { CLOSE_REPLACED, type FrameChannel } from '@agora/transport';
import { closeConnections } from '../connections.js';

export type SchedulerChannel = FrameChannel<agora.v1.scheduler.Call, SchedulerEvent>;

const Capability = agora.v1.FrameworkInfo.Capability.Type;
const EventType = agora.v1.scheduler.Event.Type;

/** Completed (torn down) frameworks kept for /state (Mesos keeps 50). */
export const MAX_COMPLETED_FRAMEWORKS = 50;

export interface FrameworkRecord {
  readonly id: string;
  info: FrameworkInfo;
  /** The roles it subscribes with: `roles` when given, else `[role]` ('*' by default). */
  roles: string[];
  channel: SchedulerChannel | undefined;
  /** A live scheduler connection is bound to it. */
  connected: boolean;
  /** Connected and not torn down: it may receive offers. */
  active: boolean;
  /** Learned from an agent after a master failover; has not (re-)subscribed to this master yet. */
  recovered: boolean;
  suppressedRoles: Set<string>;
  capabilities: Set<number>;
  registeredTime: number | undefined;
  reregisteredTime: number | undefined;
  unregisteredTime: number | undefined;
  heartbeat: Disposable | undefined;
}

export interface FrameworkManagerOptions {
  clock: Clock;
  logger: Logger;
  ids: IdGenerator;
  heartbeatIntervalSeconds: number;
  masterInfo: () => MasterInfo;
}

/** One segment of a role path (hierarchical roles `eng/web`, as Mesos 1.x). */
const ROLE_PATTERN = /^[^\s/\\]+$/;

export function rolesOf(info: FrameworkInfo): string[] {
  const roles = info.roles && info.roles.length > 0 ? [...info.roles] : [info.role ?? '*'];
  return [...new Set(roles)];
}

export class FrameworkManager implements Disposable {
  private readonly frameworks = new Map<string, FrameworkRecord>();
  private readonly completedList: FrameworkRecord[] = [];
  private readonly store = new DisposableStore();
  private readonly deactivated = new Emitter<FrameworkRecord>();
  private readonly subscribed = new Emitter<{ framework: FrameworkRecord; resubscribed: boolean }>();

  /** A framework lost its connection (or was torn down): it stops receiving offers. */
  readonly onDidDeactivateFramework = this.deactivated.event;
  /** A framework subscribed or re-subscribed. */
  readonly onDidSubscribe = this.subscribed.event;

  constructor(private readonly options: FrameworkManagerOptions) {}

  get(id: string): FrameworkRecord | undefined {
    return this.frameworks.get(id);
  }

  all(): FrameworkRecord[] {
    return [...this.frameworks.values()];
  }

  completed(): readonly FrameworkRecord[] {
    return this.completedList;
  }

  isCompleted(id: string): boolean {
    return this.completedList.some((f) => f.id === id);
  }

  hasCapability(id: string, capability: agora.v1.FrameworkInfo.Capability.Type): boolean {
    return this.frameworks.get(id)?.capabilities.has(capability) ?? false;
  }

  isPartitionAware(id: string): boolean {
    return this.hasCapability(id, Capability.PARTITION_AWARE);
  }

  /**
   * SUBSCRIBE on `channel`. Validates the FrameworkInfo (AGORA_ERR_BAD_REQUEST, nothing changed), assigns an id
   * to a new framework or keeps the given one, replaces an older live connection, and sends SUBSCRIBED.
   */
  subscribe(
    channel: SchedulerChannel,
    subscribe: agora.v1.scheduler.Call.Subscribe,
  ): { framework: FrameworkRecord; resubscribed: boolean } {
    const info = subscribe.framework_info;
    const roles = checkFrameworkInfo(info);
    const givenId = info.id?.value || undefined;
    if (givenId !== undefined && this.isCompleted(givenId)) {
      throw new AgoraError('AGORA_ERR_NOT_SUBSCRIBED', `framework ${givenId} has been torn down; subscribe anew`);
    }
    const now = this.options.clock.now();
    const existing = givenId === undefined ? undefined : this.frameworks.get(givenId);
    const id = givenId ?? this.options.ids.frameworkId();
    const framework: FrameworkRecord = existing ?? {
      id,
      info: { user: info.user, name: info.name },
      roles: [],
      channel: undefined,
      connected: false,
      active: false,
      recovered: false,
      suppressedRoles: new Set(),
      capabilities: new Set(),
      registeredTime: undefined,
      reregisteredTime: undefined,
      unregisteredTime: undefined,
      heartbeat: undefined,
    };

    const old = framework.channel;
    if (old !== undefined && old !== channel) {
      framework.channel = undefined;
      if (old.isOpen) {
        this.options.logger.warn({ frameworkId: id }, 'framework subscribed again; closing its older connection');
        old.trySend({
          type: EventType.ERROR,
          error: { message: 'Framework failed over: a newer connection subscribed', code: 'AGORA_ERR_NOT_SUBSCRIBED' },
        });
        old.close(CLOSE_REPLACED, 'AGORA_ERR_NOT_SUBSCRIBED: replaced by a newer subscription');
      }
    }
    if (framework.heartbeat !== undefined) this.store.delete(framework.heartbeat);
    framework.heartbeat = undefined;

    framework.info = { ...toPlainInfo(info), id: { value: id } };
    framework.roles = roles;
    framework.capabilities = new Set(
      (info.capabilities ?? []).map((c) => c.type ?? Capability.UNKNOWN).filter((t) => t !== Capability.UNKNOWN),
    );
    framework.suppressedRoles = new Set(subscribe.suppressed_roles.filter((r) => roles.includes(r)));
    framework.channel = channel;
    framework.connected = true;
    framework.active = true;
    const resubscribed = givenId !== undefined;
    framework.registeredTime ??= now;
    if (resubscribed) framework.reregisteredTime = now;
    framework.recovered = false;
    framework.unregisteredTime = undefined;
    this.frameworks.set(id, framework);

    channel.trySend({
      type: EventType.SUBSCRIBED,
      subscribed: {
        framework_id: { value: id },
        heartbeat_interval_seconds: this.options.heartbeatIntervalSeconds,
        master_info: this.options.masterInfo(),
      },
    });
    const heartbeat = this.options.clock.setInterval(
      () => channel.trySend({ type: EventType.HEARTBEAT }),
      this.options.heartbeatIntervalSeconds * 1000,
    );
    framework.heartbeat = heartbeat;
    this.store.add(heartbeat);
    this.options.logger.info(
      { frameworkId: id, name: info.name, roles, resubscribed },
      resubscribed ? 'framework re-subscribed' : 'framework subscribed',
    );
    this.subscribed.fire({ framework, resubscribed });
    return { framework, resubscribed };
  }

  /** A framework named by an agent's re-registration (after a master failover): known, disconnected. */
  recover(info: FrameworkInfo): FrameworkRecord | undefined {
    const id = info.id?.value;
    if (!id || this.isCompleted(id)) return undefined;
    const existing = this.frameworks.get(id);
    if (existing !== undefined) return existing;
    const framework: FrameworkRecord = {
      id,
      info: { ...toPlainInfo(info), id: { value: id } },
      roles: rolesOf(info),
      channel: undefined,
      connected: false,
      active: false,
      recovered: true,
      suppressedRoles: new Set(),
      capabilities: new Set((info.capabilities ?? []).map((c) => c.type ?? Capability.UNKNOWN)),
      registeredTime: undefined,
      reregisteredTime: undefined,
      unregisteredTime: undefined,
      heartbeat: undefined,
    };
    this.frameworks.set(id, framework);
    this.options.logger.info({ frameworkId: id, name: info.name }, 'framework recovered from an agent');
    return framework;
  }

  /** The channel closed: if it is still the framework's, mark it disconnected and inactive. */
  disconnected(frameworkId: string, channel: SchedulerChannel): void {
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined || framework.channel !== channel) return;
    framework.channel = undefined;
    framework.connected = false;
    framework.active = false;
    framework.unregisteredTime = this.options.clock.now();
    if (framework.heartbeat !== undefined) this.store.delete(framework.heartbeat);
    framework.heartbeat = undefined;
    this.options.logger.warn({ frameworkId }, 'framework disconnected; its tasks are kept');
    this.deactivated.fire(framework);
  }

  /** Send an event to a framework; false when it is not connected. */
  send(frameworkId: string, event: SchedulerEvent): boolean {
    return this.frameworks.get(frameworkId)?.channel?.trySend(event) ?? false;
  }

  /** SUPPRESS: no offers for these roles (all roles when empty). */
  suppress(frameworkId: string, roles: readonly string[]): void {
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined) return;
    for (const role of roles.length === 0 ? framework.roles : roles) {
      if (framework.roles.includes(role)) framework.suppressedRoles.add(role);
    }
  }

  /** REVIVE: offers again for these roles (all roles when empty). */
  revive(frameworkId: string, roles: readonly string[]): void {
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined) return;
    if (roles.length === 0) framework.suppressedRoles.clear();
    for (const role of roles) framework.suppressedRoles.delete(role);
  }

  /** TEARDOWN: remove the framework (kept among the completed ones) and close its connection. */
  remove(frameworkId: string): FrameworkRecord | undefined {
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined) return undefined;
    this.frameworks.delete(frameworkId);
    const channel = framework.channel;
    framework.channel = undefined;
    framework.connected = false;
    framework.active = false;
    framework.unregisteredTime = this.options.clock.now();
    if (framework.heartbeat !== undefined) this.store.delete(framework.heartbeat);
    framework.heartbeat = undefined;
    this.completedList.push(framework);
    if (this.completedList.length > MAX_COMPLETED_FRAMEWORKS) this.completedList.shift();
    channel?.close(1000, 'framework torn down');
    this.options.logger.info({ frameworkId }, 'framework torn down');
    this.deactivated.fire(framework);
    return framework;
  }

  /** Close every scheduler connection (shutdown or loss of leadership). */
  closeAll(code: number, reason: string): void {
    closeConnections(this.frameworks.values(), code, reason);
  }

  dispose(): void {
    this.store.dispose();
    this.deactivated.dispose();
    this.subscribed.dispose();
  }
}

/** Validate a FrameworkInfo; returns its roles. Throws AGORA_ERR_BAD_REQUEST. */
function checkFrameworkInfo(info: FrameworkInfo): string[] {
  if (!info.name) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'framework_info.name must not be empty');
  const roles = rolesOf(info);
  for (const role of roles) {
    const segments = role.split('/');
    if (segments.some((x) => !ROLE_PATTERN.test(x) || x === '.' || x === '..' || (role !== '*' && x === '*'))) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `framework role '${role}' is not a valid role name`);
    }
  }
  return roles;
}

/** A decoded FrameworkInfo as a plain object (what RunTask and /state carry). */
function toPlainInfo(info: FrameworkInfo): FrameworkInfo {
  return agora.v1.FrameworkInfo.toObject(agora.v1.FrameworkInfo.fromObject(info), { defaults: false }) as FrameworkInfo;
}
