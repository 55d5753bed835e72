/**
 * Marathon path ids (`state/PathId.scala`): `/group/sub/app`, segments of
 * lowercase labels joined by dots, `.` and `..` resolved against a base.
 * PURE: no I/O.
 */

/** Marathon's segment pattern, as printed in its error message. */
export const ID_SEGMENT_PATTERN_TEXT =
  '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$';

/** The same pattern for a full-string match (Java `matcher().matches()`). */
const ID_SEGMENT_RE =
  /^(?:(?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])|\.|\.\.)$/;

/** Last segments an app id may not have: they are routes under `/v2/apps/{id}`. */
export const RESERVED_ID_KEYWORDS = ['restart', 'tasks', 'versions', '.', '..'] as const;

export interface ParsedPathId {
  readonly segments: readonly string[];
  readonly absolute: boolean;
}

/** Split an id into segments (empty segments dropped), remembering whether it started with `/`. */
export function parsePathId(text: string): ParsedPathId {
  const segments = text
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((s) => s.length > 0);
  return { segments, absolute: text.startsWith('/') };
}

/** Resolve `.`/`..` and make the id absolute against `base` (default the root `/`). */
export function canonicalSegments(text: string, base: readonly string[] = []): string[] {
  const parsed = parsePathId(text);
  const input = parsed.absolute ? parsed.segments : [...base, ...parsed.segments];
  const out: string[] = [];
  for (const s of input) {
    if (s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return out;
}

/** The canonical absolute form of an id: `/a/b`, or `/` for the root. */
export function canonicalPathId(text: string): string {
  return `/${canonicalSegments(text).join('/')}`;
}

/**
 * Errors for an app id, Marathon's messages (all on the `id` path). The id is
 * checked as given (segments) and after canonicalization (not root).
 */
export function pathIdErrors(text: string): string[] {
  const errors: string[] = [];
  const parsed = parsePathId(text);
  if (!parsed.segments.every((s) => ID_SEGMENT_RE.test(s))) {
    errors.push(`must fully match regular expression '${ID_SEGMENT_PATTERN_TEXT}'`);
  }
  const last = parsed.segments[parsed.segments.length - 1];
  if (last !== undefined && (RESERVED_ID_KEYWORDS as readonly string[]).includes(last)) {
    errors.push(`must not end with any of the following reserved keywords: ${RESERVED_ID_KEYWORDS.join(', ')}`);
  }
  if (canonicalSegments(text).length === 0) errors.push('Path must contain at least one path element');
  return errors;
}

/** Marathon's `safePath`: segments joined by `_` (unambiguous: `_` is not allowed in ids). */
export function safePath(appId: string): string {
  return canonicalSegments(appId).join('_');
}

/** The inverse of `safePath`. */
export function fromSafePath(safe: string): string {
  return `/${safe
    .split('_')
    .filter((s) => s.length > 0)
    .join('/')}`;
}

/** Marathon's Mesos task name: the id as a reversed host name, `/tools/registry` → `registry.tools`. */
export function taskNameFor(appId: string): string {
  return canonicalSegments(appId).reverse().join('.');
}

/**
 * A Marathon 1.4+ task id: `<safePath>.instance-<uuid>._app.<incarnation>`,
 * e.g. `tools_registry.instance-6a1c…._app.1` (the Mesos task id is the same string).
 */
export function taskIdFor(appId: string, uuid: string, incarnation = 1): string {
  return `${safePath(appId)}.instance-${uuid}._app.${incarnation}`;
}

const TASK_ID_RE = /^(.+?)\.(?:instance|marathon)-([0-9a-f-]{36})(?:\..*)?$/;
const LEGACY_TASK_ID_RE = /^(.+)\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The app id a task id belongs to, or undefined when the id is not a Marathon task id. */
export function appIdOfTaskId(taskId: string): string | undefined {
  const m = TASK_ID_RE.exec(taskId) ?? LEGACY_TASK_ID_RE.exec(taskId);
  return m === null || m[1] === undefined ? undefined : fromSafePath(m[1]);
}
