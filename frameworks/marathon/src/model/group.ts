/**
 * Marathon groups (`state/Group.scala`, `api/v2/GroupsResource.scala`,
 * `raml types/group.raml`): a group update body, checked and canonicalized
 * (relative ids resolved against the parent, every app a direct child of its
 * group), flattened into the apps it declares and the groups it names, and
 * the dependency graph's cycle check. PURE.
 *
 * ```
 * {id:"sub", apps:[{id:"a"}], groups:[{id:"db", apps:[…]}], dependencies:["../x"]}
 *   at /foo  ─►  groups /foo/sub, /foo/sub/db; apps /foo/sub/a, /foo/sub/db/…
 * ```
 */
import type { AppSpec, JsonObject, JsonValue } from './app-definition.js';
import { type AppParseResult, type ParseAppOptions, parseAppDefinition } from './app-parser.js';
import { E_ARRAY, E_NUMBER, E_OBJECT, E_STRING, isObject } from './app-reads.js';
import { canonicalSegments, pathIdErrors } from './path-id.js';
import { type Violation, Violations } from './violations.js';

export const MSG_CYCLE = 'Dependency graph has cyclic dependencies.';
export const notChildMessage = (parent: string): string => `Identifier is not child of '${parent}'`;

/** A group's own data (its apps are stored as apps). */
export interface GroupMeta {
  id: string;
  dependencies: string[];
  enforceRole?: boolean;
}

/** One group of an update, canonical. `apps`/`groups` undefined: keep what is there. */
export interface GroupUpdateNode {
  id: string;
  dependencies?: string[];
  enforceRole?: boolean;
  /** App bodies with canonical ids (validated), when the update lists apps. */
  apps?: Array<{ spec: AppSpec; body: JsonObject }>;
  groups?: GroupUpdateNode[];
}

export type GroupUpdate =
  | { kind: 'tree'; root: GroupUpdateNode }
  | { kind: 'scale'; id: string; scaleBy: number }
  | { kind: 'rollback'; id: string; version: string };

export type GroupParseResult =
  | { ok: true; update: GroupUpdate }
  | { ok: false; kind: 'json' | 'semantic'; violations: Violation[] };

function pathOf(base: readonly string[]): string {
  return `/${base.join('/')}`;
}

/** Resolve `id` against the parent group (absolute ids stay). */
export function resolveId(id: string, parent: string): string {
  return pathOf(canonicalSegments(id, canonicalSegments(parent)));
}

export function parentOf(id: string): string {
  return pathOf(canonicalSegments(id).slice(0, -1));
}

function readNode(
  raw: JsonValue,
  id: string,
  at: string,
  out: Violations,
  json: Violations,
  parseOptions: ParseAppOptions,
): GroupUpdateNode {
  const node: GroupUpdateNode = { id };
  if (!isObject(raw)) {
    json.add(at === '' ? '/' : at, E_OBJECT);
    return node;
  }
  const deps = raw['dependencies'];
  if (deps !== undefined && deps !== null) {
    if (!Array.isArray(deps) || !deps.every((d) => typeof d === 'string')) json.add(`${at}/dependencies`, E_ARRAY);
    else node.dependencies = (deps as string[]).map((d) => resolveId(d, id));
  }
  if (typeof raw['enforceRole'] === 'boolean') {
    node.enforceRole = raw['enforceRole'];
    // A top-level group's enforceRole set in this change decides the roles of the apps under it.
    if (parentOf(id) === '/') parseOptions = { ...parseOptions, enforceRole: raw['enforceRole'] };
  }
  const apps = raw['apps'];
  if (apps !== undefined && apps !== null) {
    if (!Array.isArray(apps)) json.add(`${at}/apps`, E_ARRAY);
    else {
      node.apps = [];
      apps.forEach((a, i) => {
        const p = `${at}/apps(${i})`;
        if (!isObject(a) || typeof a['id'] !== 'string') {
          json.add(`${p}/id`, isObject(a) ? E_STRING : E_OBJECT);
          return;
        }
        const appId = resolveId(a['id'], id);
        if (parentOf(appId) !== id) {
          out.add(`${p}/id`, notChildMessage(id));
          return;
        }
        const result: AppParseResult = parseAppDefinition(
          {
            ...a,
            id: appId,
            dependencies: ((a['dependencies'] as JsonValue[] | undefined) ?? []).map((d) =>
              typeof d === 'string' ? resolveId(d, id) : d,
            ),
          },
          parseOptions,
        );
        if (!result.ok) {
          for (const v of result.violations)
            for (const e of v.errors)
              (result.kind === 'json' ? json : out).add(`${p}${v.path === '/' ? '' : v.path}`, e);
          return;
        }
        node.apps!.push({ spec: result.spec, body: { ...a, id: appId } });
      });
    }
  }
  const groups = raw['groups'];
  if (groups !== undefined && groups !== null) {
    if (!Array.isArray(groups)) json.add(`${at}/groups`, E_ARRAY);
    else {
      node.groups = [];
      groups.forEach((g, i) => {
        const p = `${at}/groups(${i})`;
        if (!isObject(g) || typeof g['id'] !== 'string') {
          json.add(`${p}/id`, isObject(g) ? E_STRING : E_OBJECT);
          return;
        }
        const gid = resolveId(g['id'], id);
        for (const e of pathIdErrors(g['id'])) out.add(`${p}/id`, e);
        if (parentOf(gid) !== id) {
          out.add(`${p}/id`, notChildMessage(id));
          return;
        }
        node.groups!.push(readNode(g, gid, p, out, json, parseOptions));
      });
    }
  }
  return node;
}

/**
 * Parse a group update body for the group at `basePath` (the URL's group;
 * `/` for `/v2/groups`). The body's `id`, if any, is resolved against it.
 */
export function parseGroupUpdate(raw: unknown, basePath: string, options: ParseAppOptions = {}): GroupParseResult {
  const json = new Violations();
  const out = new Violations();
  if (!isObject(raw as JsonValue)) return { ok: false, kind: 'json', violations: [{ path: '/', errors: [E_OBJECT] }] };
  const body = raw as JsonObject;
  const rawId = body['id'];
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'string') json.add('/id', E_STRING);
  const id = typeof rawId === 'string' ? resolveId(rawId, basePath) : pathOf(canonicalSegments(basePath));
  if (typeof rawId === 'string') {
    for (const e of pathIdErrors(rawId)) if (e !== 'Path must contain at least one path element') out.add('/id', e);
  }
  const version = body['version'];
  const scaleBy = body['scaleBy'];
  if (version !== undefined && version !== null) {
    if (typeof version !== 'string') json.add('/version', E_STRING);
    else if (json.isEmpty) return { ok: true, update: { kind: 'rollback', id, version } };
  }
  if (scaleBy !== undefined && scaleBy !== null) {
    if (typeof scaleBy !== 'number' || !Number.isFinite(scaleBy)) json.add('/scaleBy', E_NUMBER);
    else if (scaleBy < 0) out.add('/scaleBy', `got ${scaleBy}, expected 0 or more`);
    else if (json.isEmpty && out.isEmpty) return { ok: true, update: { kind: 'scale', id, scaleBy } };
  }
  const root = readNode(body, id, '', out, json, options);
  if (!json.isEmpty) return { ok: false, kind: 'json', violations: json.toArray() };
  if (!out.isEmpty) return { ok: false, kind: 'semantic', violations: out.toArray() };
  return { ok: true, update: { kind: 'tree', root } };
}

/** Every group id of an update tree (root first). */
export function groupsOf(node: GroupUpdateNode): GroupUpdateNode[] {
  return [node, ...(node.groups ?? []).flatMap(groupsOf)];
}

/** Whether `id` is `group` or under it. */
export function isUnder(id: string, group: string): boolean {
  return group === '/' || id === group || id.startsWith(`${group}/`);
}

/**
 * A dependency cycle among apps, or undefined. An app depends on its own
 * `dependencies` and on those of every group it is in; a dependency names an
 * app or a group (= every app under it).
 */
export function findDependencyCycle(
  apps: ReadonlyArray<{ id: string; dependencies: readonly string[] }>,
  groups: readonly GroupMeta[],
): string[] | undefined {
  const ids = apps.map((a) => a.id);
  const edges = new Map<string, Set<string>>();
  for (const a of apps) {
    const deps = [
      ...a.dependencies,
      ...groups.filter((g) => isUnder(a.id, g.id) && g.id !== a.id).flatMap((g) => g.dependencies),
    ];
    const targets = new Set<string>();
    for (const d of deps) for (const other of ids) if (isUnder(other, d) && !isUnder(a.id, d)) targets.add(other);
    for (const d of a.dependencies) if (ids.includes(d) && d === a.id) targets.add(d);
    edges.set(a.id, targets);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      const c = visit(m);
      if (c !== undefined) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const id of ids) {
    const c = visit(id);
    if (c !== undefined) return c;
  }
  return undefined;
}
