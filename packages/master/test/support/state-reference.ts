/**
 * The reference `/state-summary` and `/tasks` built from a `/state` JSON: what the endpoints served before the
 * cached views of src/state/state-snapshot.ts. The state-snapshot tests check the views against these.
 */
type Json = Record<string, unknown>;

const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_KILLED',
  'TASK_FAILED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_UNREACHABLE',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
];

function tasksOfJson(f: Json): Json[] {
  return [
    ...((f['tasks'] as Json[] | undefined) ?? []),
    ...((f['unreachable_tasks'] as Json[] | undefined) ?? []),
    ...((f['completed_tasks'] as Json[] | undefined) ?? []),
  ];
}

function counts(tasks: Json[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(TASK_STATES.map((s) => [s, 0]));
  for (const t of tasks) {
    const s = String(t['state']);
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

/** The reference `/state-summary` from a `/state` JSON. */
export function stateSummaryJson(state: Json): Json {
  const frameworks = [...((state['frameworks'] as Json[]) ?? []), ...((state['completed_frameworks'] as Json[]) ?? [])];
  const slaves = (state['slaves'] as Json[]) ?? [];
  const all: Json[] = frameworks.flatMap((f) => tasksOfJson(f).map((t) => ({ ...t, framework_id: f['id'] })));
  return {
    hostname: state['hostname'],
    cluster: state['cluster'] ?? '',
    slaves: slaves.map((a) => {
      const onAgent = all.filter((t) => t['slave_id'] === a['id']);
      const { port: _port, connected: _connected, ...rest } = a;
      return { ...rest, ...counts(onAgent), framework_ids: [...new Set(onAgent.map((t) => t['framework_id']))] };
    }),
    frameworks: ((state['frameworks'] as Json[]) ?? []).map((f) => {
      const tasks = tasksOfJson(f);
      return {
        id: f['id'],
        name: f['name'],
        pid: f['pid'] ?? '',
        used_resources: f['used_resources'],
        offered_resources: f['offered_resources'],
        capabilities: f['capabilities'],
        hostname: f['hostname'],
        webui_url: f['webui_url'],
        active: f['active'],
        connected: f['connected'],
        recovered: f['recovered'],
        role: f['role'],
        roles: f['roles'],
        ...counts(tasks),
        slave_ids: [...new Set(tasks.map((t) => t['slave_id']))],
      };
    }),
  };
}

/** The reference `/tasks` from a `/state` JSON. */
export function tasksJson(
  state: Json,
  q: { frameworkId?: string; taskId?: string; limit: number; offset: number; order: 'asc' | 'desc' },
): Json {
  const frameworks = [...((state['frameworks'] as Json[]) ?? []), ...((state['completed_frameworks'] as Json[]) ?? [])];
  const startOf = (t: Json) => (t['statuses'] as Array<{ timestamp: number }> | undefined)?.[0]?.timestamp ?? 0;
  const tasks = frameworks
    .filter((f) => q.frameworkId === undefined || f['id'] === q.frameworkId)
    .flatMap(tasksOfJson)
    .filter((t) => q.taskId === undefined || t['id'] === q.taskId)
    .sort((a, b) => (q.order === 'asc' ? startOf(a) - startOf(b) : startOf(b) - startOf(a)));
  return { tasks: tasks.slice(q.offset, q.offset + q.limit) };
}
