/**
 * Groups (`/v2/groups`): a tree whose leaves are the apps of the app
 * manager. Explicit groups (created through `/v2/groups`, with their
 * `dependencies`) are stored with every root group version; groups implied
 * by app ids (`/a/b/app` → `/a`, `/a/b`) exist as long as their apps do.
 *
 * A group change is parsed and validated in full (every app, relative ids,
 * children only, dependency cycles, locks) before anything is applied, then
 * applied app by app through the app manager (which stores first), then the
 * new root group version is stored.
 */
import { AgoraError, type Clock, type Logger, newUuid } from '@agora/common';
import type { AppDefinition, JsonObject } from '../model/app-definition.js';
import { appBody, isUpgrade, nextVersion, sameSpec } from '../model/app-json.js';
import {
  findDependencyCycle,
  type GroupMeta,
  type GroupParseResult,
  type GroupUpdateNode,
  groupsOf,
  isUnder,
  MSG_CYCLE,
  parentOf,
  parseGroupUpdate,
} from '../model/group.js';
import { canonicalPathId, canonicalSegments } from '../model/path-id.js';
import type { MarathonStore, RootGroupRecord } from '../storage/repositories.js';
import { commitChange } from '../storage/store-change.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { AppManager, AppOp as BatchOp } from './app-manager.js';

export interface GroupChangeResult {
  version: string;
  deploymentId: string;
  /** Set by POST: the created group's id. */
  groupId: string;
}

export interface PlannedStep {
  actions: Array<{ action: string; app: string }>;
}

type AppOp =
  | { op: 'create'; id: string; body: JsonObject; deps: string[] }
  | { op: 'update'; id: string; body: JsonObject; restart: boolean; deps: string[] }
  | { op: 'delete'; id: string };

function invalid(result: Extract<GroupParseResult, { ok: false }>): AgoraError {
  return new AgoraError('AGORA_ERR_APP_INVALID', result.kind === 'json' ? 'Invalid JSON' : 'Object is not valid', {
    data: { kind: result.kind, violations: result.violations },
  });
}

export function groupNotFound(id: string): AgoraError {
  return new AgoraError('AGORA_ERR_APP_NOT_FOUND', `Group '${id}' does not exist`);
}

/** The ancestors of an id, nearest last (`/a/b/c` → `/a`, `/a/b`). */
function ancestors(id: string): string[] {
  const s = canonicalSegments(id);
  return s.slice(0, -1).map((_, i) => `/${s.slice(0, i + 1).join('/')}`);
}

export class GroupManager {
  private readonly explicit = new Map<string, GroupMeta>();
  private readonly queue = new SerialQueue();
  private version: string | undefined;

  constructor(
    private readonly apps: AppManager,
    private readonly store: MarathonStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    apps.useGroupRoles((id) => this.explicit.get(id)?.enforceRole);
  }

  /** Wait for group changes in flight (used at close, before the apps' own drain). */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  async load(): Promise<void> {
    const root = await this.store.groups?.root();
    this.explicit.clear();
    for (const g of root?.groups ?? []) this.explicit.set(g.id, g);
    this.version = root?.version;
  }

  /** Every group id: explicit ones, and those implied by apps and explicit groups. */
  groupIds(): string[] {
    const ids = new Set<string>(['/']);
    for (const g of this.explicit.keys()) {
      ids.add(g);
      for (const a of ancestors(g)) ids.add(a);
    }
    for (const app of this.apps.list()) for (const a of ancestors(app.id)) ids.add(a);
    return [...ids].sort();
  }

  exists(id: string): boolean {
    return this.groupIds().includes(canonicalPathId(id));
  }

  meta(id: string): GroupMeta {
    return this.explicit.get(id) ?? { id, dependencies: [] };
  }

  /** The root group's current version (the newest of its own and its apps'). */
  currentVersion(): string {
    const versions = [this.version ?? new Date(0).toISOString(), ...this.apps.list().map((a) => a.version)];
    return versions.sort()[versions.length - 1]!;
  }

  async versions(): Promise<string[]> {
    return (await this.store.groups?.versions()) ?? [];
  }

  async atVersion(version: string): Promise<RootGroupRecord | undefined> {
    return this.store.groups?.getVersion(version);
  }

  /** POST /v2/groups[/{id}] (create) and PUT (update; `dryRun` plans only). */
  change(
    basePath: string,
    body: unknown,
    options: { create?: boolean; force?: boolean; dryRun?: boolean },
  ): Promise<GroupChangeResult | { steps: PlannedStep[] }> {
    return this.queue.run(async () => {
      const parsed = parseGroupUpdate(body, canonicalPathId(basePath), this.apps.parseOptions);
      if (!parsed.ok) throw invalid(parsed);
      const u = parsed.update;
      if (u.kind === 'scale') return this.scale(u.id, u.scaleBy, options);
      if (u.kind === 'rollback') return this.rollback(u.id, u.version, options);
      const root = u.root;
      if (options.create === true) {
        if (this.apps.get(root.id) !== undefined) {
          throw new AgoraError('AGORA_ERR_APP_EXISTS', `An app with the path ${root.id} already exists.`);
        }
        if (this.exists(root.id)) {
          throw new AgoraError(
            'AGORA_ERR_APP_EXISTS',
            `Group ${root.id} is already created. Use PUT to change this group.`,
          );
        }
      }
      const { ops, metas } = this.planTree(root);
      this.checkCycles(ops, metas);
      if (options.dryRun === true) return { steps: this.steps(ops) };
      const result = await this.apply(ops, metas, [], options.force === true);
      return { ...result, groupId: root.id };
    });
  }

  /** DELETE /v2/groups[/{id}]: stop every app under the group and forget its groups (root: empties it). */
  delete(id: string, options: { force?: boolean }): Promise<GroupChangeResult> {
    const groupId = canonicalPathId(id);
    return this.queue.run(async () => {
      if (!this.exists(groupId)) throw groupNotFound(groupId);
      const ops: AppOp[] = this.apps
        .list()
        .filter((a) => isUnder(a.id, groupId))
        .map((a) => ({ op: 'delete', id: a.id }));
      const removed = [...this.explicit.keys()].filter((g) => isUnder(g, groupId));
      const result = await this.apply(ops, [], removed, options.force === true);
      return { ...result, groupId };
    });
  }

  /**
   * PATCH /v2/groups/{id} (Marathon 1.9+): change `enforceRole` of a
   * top-level group. No deployment; the new root group version is stored.
   */
  patch(id: string, body: unknown): Promise<void> {
    const groupId = canonicalPathId(id);
    return this.queue.run(async () => {
      const invalidPatch = (path: string, error: string): AgoraError =>
        new AgoraError('AGORA_ERR_APP_INVALID', 'Object is not valid', {
          data: { kind: 'semantic', violations: [{ path, errors: [error] }] },
        });
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new AgoraError('AGORA_ERR_APP_INVALID', 'Invalid JSON', {
          data: { kind: 'json', violations: [{ path: '/', errors: ['error.expected.jsobject'] }] },
        });
      }
      if (!this.exists(groupId)) throw groupNotFound(groupId);
      if (groupId === '/' || parentOf(groupId) !== '/') {
        throw invalidPatch('/', 'enforceRole can only be set on top-level groups');
      }
      const fields = body as Record<string, unknown>;
      const extra = Object.keys(fields).filter((k) => k !== 'enforceRole' && k !== 'id');
      if (extra.length > 0)
        throw invalidPatch('/', `only enforceRole can be changed with PATCH, not ${extra.join(', ')}`);
      const enforceRole = fields['enforceRole'];
      if (typeof enforceRole !== 'boolean') throw invalidPatch('/enforceRole', 'error.expected.jsboolean');
      const meta: GroupMeta = { ...this.meta(groupId), enforceRole };
      const explicit = new Map(this.explicit).set(groupId, meta);
      const record = this.nextRoot(this.apps.list(), explicit);
      await commitChange(this.store, { root: record });
      this.explicit.set(groupId, meta);
      this.version = record.version;
      this.logger.info({ groupId, enforceRole }, 'group patched');
    });
  }

  /** Apps, groups and metadata the update asks for, compared with what is there. */
  private planTree(root: GroupUpdateNode): { ops: AppOp[]; metas: GroupMeta[] } {
    const ops: AppOp[] = [];
    const metas: GroupMeta[] = [];
    const touched = new Set<string>();
    for (const node of groupsOf(root)) {
      const existing = this.explicit.get(node.id);
      const meta: GroupMeta = { id: node.id, dependencies: node.dependencies ?? existing?.dependencies ?? [] };
      const role = node.enforceRole ?? existing?.enforceRole;
      if (role !== undefined) meta.enforceRole = role;
      metas.push(meta);
      if (node.apps !== undefined) {
        const listed = new Set(node.apps.map((a) => a.spec.id));
        for (const app of this.apps.list()) {
          if (parentOf(app.id) === node.id && !listed.has(app.id)) ops.push({ op: 'delete', id: app.id });
        }
        for (const { spec, body } of node.apps) {
          touched.add(spec.id);
          const current = this.apps.get(spec.id);
          const { id: _id, ...rest } = body;
          const full = { ...rest, id: spec.id, dependencies: spec.dependencies } as JsonObject;
          if (current === undefined) ops.push({ op: 'create', id: spec.id, body: full, deps: spec.dependencies });
          else if (!sameSpec(current, spec)) {
            ops.push({
              op: 'update',
              id: spec.id,
              body: full,
              restart: isUpgrade(current, spec),
              deps: spec.dependencies,
            });
          }
        }
      }
      if (node.groups !== undefined) {
        const listed = new Set(node.groups.map((g) => g.id));
        for (const g of this.groupIds()) {
          if (g !== '/' && parentOf(g) === node.id && !listed.has(g)) {
            for (const app of this.apps.list()) if (isUnder(app.id, g)) ops.push({ op: 'delete', id: app.id });
          }
        }
      }
    }
    return { ops: ops.filter((o) => o.op !== 'delete' || !touched.has(o.id)), metas };
  }

  private checkCycles(ops: readonly AppOp[], metas: readonly GroupMeta[]): void {
    const deleted = new Set(ops.filter((o) => o.op === 'delete').map((o) => o.id));
    const changed = new Map(
      ops.filter((o) => o.op !== 'delete').map((o) => [o.id, o as Exclude<AppOp, { op: 'delete' }>]),
    );
    const apps = [
      ...this.apps
        .list()
        .filter((a) => !deleted.has(a.id) && !changed.has(a.id))
        .map((a) => ({ id: a.id, dependencies: a.dependencies })),
      ...[...changed.values()].map((o) => ({ id: o.id, dependencies: o.deps })),
    ];
    const metaById = new Map([...this.explicit].map(([k, v]) => [k, v]));
    for (const m of metas) metaById.set(m.id, m);
    const cycle = findDependencyCycle(apps, [...metaById.values()]);
    if (cycle !== undefined) {
      throw new AgoraError('AGORA_ERR_APP_INVALID', 'Object is not valid', {
        data: { kind: 'semantic', violations: [{ path: '/', errors: [`${MSG_CYCLE} (${cycle.join(' -> ')})`] }] },
      });
    }
  }

  /** Marathon's plan shape: stops, starts, then scale/restart by dependency layer (dependencies first). */
  private steps(ops: readonly AppOp[]): PlannedStep[] {
    const steps: PlannedStep[] = [];
    const stops = ops.filter((o) => o.op === 'delete');
    if (stops.length > 0) steps.push({ actions: stops.map((o) => ({ action: 'StopApplication', app: o.id })) });
    const creates = ops.filter((o) => o.op === 'create');
    if (creates.length > 0) steps.push({ actions: creates.map((o) => ({ action: 'StartApplication', app: o.id })) });
    const changes = ops.filter((o): o is Exclude<AppOp, { op: 'delete' }> => o.op !== 'delete');
    const depth = new Map<string, number>();
    const byId = new Map(changes.map((o) => [o.id, o]));
    const depthOf = (id: string, seen: Set<string>): number => {
      const known = depth.get(id);
      if (known !== undefined) return known;
      const o = byId.get(id);
      if (o === undefined || seen.has(id)) return 0;
      seen.add(id);
      const d = Math.max(0, ...o.deps.filter((x) => byId.has(x)).map((x) => depthOf(x, seen) + 1));
      depth.set(id, d);
      return d;
    };
    const layers = new Map<number, PlannedStep['actions']>();
    for (const o of changes) {
      const d = depthOf(o.id, new Set());
      const action = o.op === 'update' && o.restart ? 'RestartApplication' : 'ScaleApplication';
      layers.set(d, [...(layers.get(d) ?? []), { action, app: o.id }]);
    }
    for (const d of [...layers.keys()].sort((a, b) => a - b)) steps.push({ actions: layers.get(d)! });
    return steps;
  }

  /** The next root group version: these apps and groups, stamped after every version so far. */
  private nextRoot(apps: readonly AppDefinition[], explicit: ReadonlyMap<string, GroupMeta>): RootGroupRecord {
    const newest = [this.version ?? new Date(0).toISOString(), ...apps.map((a) => a.version)].sort();
    return {
      version: nextVersion(this.clock.now(), newest[newest.length - 1]),
      groups: [...explicit.values()],
      apps: Object.fromEntries(apps.map((a) => [a.id, a.version])),
    };
  }

  /**
   * Apply the app changes and the new root group version as ONE change: one
   * deployment whose steps put stops first and then the apps in dependency
   * order, written in the same atomic store write as the apps and the root
   * group (see AppManager.change).
   */
  private async apply(
    ops: readonly AppOp[],
    metas: readonly GroupMeta[],
    removedGroups: readonly string[],
    force: boolean,
  ): Promise<{ version: string; deploymentId: string }> {
    this.apps.checkLocks(
      ops.map((o) => o.id),
      force,
    );
    const explicit = new Map(this.explicit);
    for (const g of removedGroups) explicit.delete(g);
    for (const m of metas) if (m.id !== '/' || m.dependencies.length > 0) explicit.set(m.id, m);
    let record: RootGroupRecord | undefined;
    const batch: BatchOp[] = ops.map((o) =>
      o.op === 'delete' ? { op: 'delete', id: o.id } : { op: 'put', id: o.id, body: o.body, partial: false },
    );
    const enforceRoles = new Map<string, boolean>();
    for (const m of metas)
      if (parentOf(m.id) === '/' && m.enforceRole !== undefined) enforceRoles.set(m.id, m.enforceRole);
    const result = await this.apps.change(batch, {
      force: true,
      enforceRoles,
      root: (apps) => {
        record = this.nextRoot(apps, explicit);
        return record;
      },
    });
    this.explicit.clear();
    for (const [k, v] of explicit) this.explicit.set(k, v);
    this.version = record?.version ?? this.version;
    const version = record?.version ?? result.version;
    this.logger.info({ version, changes: ops.length, deploymentId: result.deployment?.id }, 'groups changed');
    return { version, deploymentId: result.deployment?.id ?? newUuid() };
  }

  private async scale(id: string, factor: number, options: { force?: boolean; dryRun?: boolean }) {
    if (!this.exists(id)) throw groupNotFound(id);
    const ops: AppOp[] = this.apps
      .list()
      .filter((a) => isUnder(a.id, id))
      .map((a) => ({
        op: 'update',
        id: a.id,
        body: { ...appBody(a), instances: Math.ceil(a.instances * factor - 1e-9) },
        restart: false,
        deps: a.dependencies,
      }));
    if (options.dryRun === true) return { steps: this.steps(ops) };
    return { ...(await this.apply(ops, [], [], options.force === true)), groupId: id };
  }

  private async rollback(id: string, version: string, options: { force?: boolean; dryRun?: boolean }) {
    const target = await this.store.groups?.getVersion(version);
    if (target === undefined)
      throw new AgoraError('AGORA_ERR_APP_NOT_FOUND', `Group '${id}' does not exist in version ${version}`);
    const ops: AppOp[] = [];
    for (const app of this.apps.list()) {
      if (isUnder(app.id, id) && target.apps[app.id] === undefined) ops.push({ op: 'delete', id: app.id });
    }
    for (const [appId, appVersion] of Object.entries(target.apps)) {
      if (!isUnder(appId, id)) continue;
      const current = this.apps.get(appId);
      if (current?.version === appVersion) continue;
      const old = await this.store.apps.getVersion(appId, appVersion);
      if (old === undefined) continue; // its history is gone (deleted app); nothing to restore from
      const body = appBody(old);
      if (current === undefined) ops.push({ op: 'create', id: appId, body, deps: old.dependencies });
      else ops.push({ op: 'update', id: appId, body, restart: isUpgrade(current, old), deps: old.dependencies });
    }
    const metas = target.groups.filter((g) => isUnder(g.id, id));
    const removed = [...this.explicit.keys()].filter((g) => isUnder(g, id) && !metas.some((m) => m.id === g));
    if (options.dryRun === true) return { steps: this.steps(ops) };
    return { ...(await this.apply(ops, metas, removed, options.force === true)), groupId: id };
  }
}
