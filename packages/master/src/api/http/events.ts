/**
 * The master's event stream (Mesos' v1 operator `SUBSCRIBE`), so tools can
 * watch the cluster without polling `/state`:
 *
 * - `GET /api/v1/events` (also `/events`, `/master/api/v1/events`) with
 *   `Accept: text/event-stream`: SSE, `event: <TYPE>` / `data: <JSON>` / `id: <n>`;
 * - `POST /api/v1` (and `/master/api/v1`) with `{"type":"SUBSCRIBE"}`: Mesos'
 *   RecordIO (`<length>\n<JSON>` records), `Content-Type: application/recordio`,
 *   `Message-Content-Type: application/json`. Other calls go on to the other
 *   `/api/v1` handlers untouched.
 *
 * The first event is `SUBSCRIBED` with a state snapshot (`get_state`: tasks,
 * frameworks, agents) and `heartbeat_interval_seconds`; then `TASK_ADDED`,
 * `TASK_UPDATED`, `AGENT_ADDED`, `AGENT_REMOVED`, `FRAMEWORK_ADDED`,
 * `FRAMEWORK_UPDATED`, `FRAMEWORK_REMOVED`, and `HEARTBEAT` every interval.
 * JSON uses Mesos' v1 field names (`task_id: {value}`, `state: "TASK_RUNNING"`).
 *
 * A reader that falls more than `maxOutstanding` events behind is
 * disconnected (memory stays bounded); it re-subscribes and gets a new snapshot.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import { agora, TaskState, type TaskStatus } from '@agora/proto';
import type { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import type { AgentManager, AgentRecord } from '../../agents/agent-manager.js';
import type { FrameworkManager, FrameworkRecord } from '../../frameworks/framework-manager.js';
import type { TaskRecord, TaskTracker } from '../../tasks/task-tracker.js';

type Json = Record<string, unknown>;

export interface MasterEventSources {
  agents: AgentManager;
  frameworks: FrameworkManager;
  tasks: TaskTracker;
}

export interface MasterEventStreamOptions {
  /** HEARTBEAT period. @default 15 */
  heartbeatIntervalSeconds?: number;
  /** Events waiting for one slow reader before it is disconnected. @default 1000 */
  maxOutstanding?: number;
  clock?: Clock;
  logger?: Logger;
}

/** One operator event: `{"type":"TASK_ADDED","task_added":{…}}`. */
export interface MasterEvent {
  type: string;
  [field: string]: unknown;
}

const id = (value: string) => ({ value });
const stateName = (s: TaskState): string => TaskState[s] ?? String(s);
const time = (ms: number | undefined) => (ms === undefined ? undefined : { nanoseconds: Math.round(ms * 1e6) });

function statusJson(s: TaskStatus): Json {
  return {
    task_id: id(s.task_id.value),
    state: stateName(s.state),
    ...(s.message ? { message: s.message } : {}),
    ...(s.agent_id?.value ? { agent_id: id(s.agent_id.value) } : {}),
    ...(typeof s.timestamp === 'number' ? { timestamp: s.timestamp } : {}),
    ...(s.healthy === undefined || s.healthy === null ? {} : { healthy: s.healthy }),
  };
}

export function taskJson(t: TaskRecord): Json {
  return {
    name: t.name,
    task_id: id(t.taskId),
    framework_id: id(t.frameworkId),
    ...(t.executorId ? { executor_id: id(t.executorId) } : {}),
    agent_id: id(t.agentId),
    state: stateName(t.state),
    resources: t.resources.toProto(),
    statuses: t.statuses.map(statusJson),
    ...(t.statusUpdateState === undefined ? {} : { status_update_state: stateName(t.statusUpdateState) }),
    ...(t.user ? { user: t.user } : {}),
  };
}

export function agentJson(a: AgentRecord): Json {
  return {
    agent_info: {
      id: id(a.id),
      hostname: a.hostname,
      port: a.port,
      resources: a.total.toProto(),
      attributes: a.attributes,
      ...(a.domain === undefined ? {} : { domain: a.domain }),
    },
    active: a.active,
    version: a.version,
    registered_time: time(a.registeredTime),
    ...(a.reregisteredTime === undefined ? {} : { reregistered_time: time(a.reregisteredTime) }),
    total_resources: a.total.toProto(),
  };
}

export function frameworkInfoJson(f: FrameworkRecord): Json {
  const info = agora.v1.FrameworkInfo.toObject(agora.v1.FrameworkInfo.fromObject(f.info), {
    enums: String,
    longs: Number,
    bytes: String,
  });
  return { ...info, id: id(f.id) };
}

export function frameworkJson(f: FrameworkRecord): Json {
  return {
    framework_info: frameworkInfoJson(f),
    active: f.active,
    connected: f.connected,
    recovered: f.recovered,
    ...(f.registeredTime === undefined ? {} : { registered_time: time(f.registeredTime) }),
    ...(f.reregisteredTime === undefined ? {} : { reregistered_time: time(f.reregisteredTime) }),
  };
}

/** One reader: a frame writer with a bounded backlog. */
class Reader {
  private readonly waiting: string[] = [];
  private blocked = false;
  ended = false;

  constructor(
    readonly res: ServerResponse,
    private readonly frame: (e: MasterEvent, n: number) => string,
    private readonly maxOutstanding: number,
    private readonly onOverflow: (r: Reader) => void,
  ) {
    res.on('drain', () => {
      this.blocked = false;
      while (!this.blocked && !this.ended) {
        const f = this.waiting.shift();
        if (f === undefined) break;
        if (!this.res.write(f)) this.blocked = true;
      }
    });
  }

  send(e: MasterEvent, n: number): void {
    if (this.ended) return;
    const f = this.frame(e, n);
    if (this.blocked) {
      this.waiting.push(f);
      if (this.waiting.length > this.maxOutstanding) this.onOverflow(this);
      return;
    }
    if (!this.res.write(f)) this.blocked = true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.waiting.length = 0;
    this.res.end();
  }
}

/** RecordIO: `<byte length>\n<JSON>`. */
export function recordIo(json: string): string {
  return `${Buffer.byteLength(json)}\n${json}`;
}

export class MasterEventStream implements Disposable {
  private readonly readers = new Set<Reader>();
  private readonly disposables: Disposable[] = [];
  private readonly heartbeatSeconds: number;
  private readonly maxOutstanding: number;
  private readonly logger: Logger;
  private next = 1;
  private cutOff = 0;

  constructor(
    private readonly sources: MasterEventSources,
    options: MasterEventStreamOptions = {},
  ) {
    this.heartbeatSeconds = options.heartbeatIntervalSeconds ?? 15;
    this.maxOutstanding = options.maxOutstanding ?? 1000;
    this.logger = options.logger ?? silentLogger();
    const clock = options.clock ?? systemClock;
    const { agents, frameworks, tasks } = sources;
    this.disposables.push(
      agents.onDidAddAgent(({ agent }) =>
        this.publish({ type: 'AGENT_ADDED', agent_added: { agent: agentJson(agent) } }),
      ),
      agents.onDidDeactivateAgent(({ agent, reason }) => {
        if (reason === 'REMOVED') this.publish({ type: 'AGENT_REMOVED', agent_removed: { agent_id: id(agent.id) } });
      }),
      frameworks.onDidSubscribe(({ framework, resubscribed }) =>
        this.publish(
          resubscribed
            ? { type: 'FRAMEWORK_UPDATED', framework_updated: { framework: frameworkJson(framework) } }
            : { type: 'FRAMEWORK_ADDED', framework_added: { framework: frameworkJson(framework) } },
        ),
      ),
      frameworks.onDidDeactivateFramework((framework) => {
        // remove() forgets the framework before telling; a disconnect keeps it (inactive).
        if (frameworks.get(framework.id) === undefined) {
          this.publish({
            type: 'FRAMEWORK_REMOVED',
            framework_removed: { framework_info: frameworkInfoJson(framework) },
          });
        } else {
          this.publish({ type: 'FRAMEWORK_UPDATED', framework_updated: { framework: frameworkJson(framework) } });
        }
      }),
      tasks.onDidChangeTask(({ task, added }) => {
        if (added) {
          this.publish({ type: 'TASK_ADDED', task_added: { task: taskJson(task) } });
          return;
        }
        const status = task.statuses[task.statuses.length - 1];
        this.publish({
          type: 'TASK_UPDATED',
          task_updated: {
            framework_id: id(task.frameworkId),
            ...(status === undefined ? {} : { status: statusJson(status) }),
            state: stateName(task.state),
          },
        });
      }),
      clock.setInterval(() => this.publish({ type: 'HEARTBEAT' }), this.heartbeatSeconds * 1000),
    );
  }

  /** Open streams. */
  get size(): number {
    return this.readers.size;
  }

  /** Readers disconnected for falling behind. */
  get cutOffReaders(): number {
    return this.cutOff;
  }

  /** `SUBSCRIBED` with the current state. */
  subscribed(): MasterEvent {
    const { agents, frameworks, tasks } = this.sources;
    return {
      type: 'SUBSCRIBED',
      subscribed: {
        get_state: {
          get_tasks: { tasks: tasks.all().map(taskJson) },
          get_frameworks: { frameworks: frameworks.all().map(frameworkJson) },
          get_agents: { agents: agents.all().map(agentJson) },
        },
        heartbeat_interval_seconds: this.heartbeatSeconds,
      },
    };
  }

  /** Serve one subscriber: headers, SUBSCRIBED, then every event until it goes away. */
  attach(req: IncomingMessage, res: ServerResponse, format: 'sse' | 'recordio'): void {
    const frame =
      format === 'sse'
        ? (e: MasterEvent, n: number) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\nid: ${n}\n\n`
        : (e: MasterEvent) => recordIo(JSON.stringify(e));
    res.writeHead(
      200,
      format === 'sse'
        ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-store' }
        : { 'content-type': 'application/recordio', 'message-content-type': 'application/json' },
    );
    res.flushHeaders();
    const reader = new Reader(res, frame, this.maxOutstanding, (r) => {
      this.readers.delete(r);
      this.cutOff++;
      this.logger.warn('slow master event reader disconnected');
      r.end();
      res.destroy();
    });
    reader.send(this.subscribed(), this.next - 1);
    this.readers.add(reader);
    const detach = () => {
      this.readers.delete(reader);
      reader.end();
    };
    res.on('close', detach);
    req.on('close', () => {
      if (res.destroyed) detach();
    });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const r of this.readers) {
      r.end();
      r.res.destroy();
    }
    this.readers.clear();
  }

  private publish(event: MasterEvent): void {
    const n = this.next++;
    for (const r of this.readers) {
      try {
        r.send(event, n);
      } catch (err) {
        this.logger.warn({ err }, 'master event not written');
      }
    }
  }
}

const SSE_PATHS = ['/api/v1/events', '/master/api/v1/events', '/events'];

/** Register the SSE paths and the RecordIO `SUBSCRIBE` on `POST /api/v1` (before the other operator calls). */
export function addEventRoutes(router: Router, stream: MasterEventStream): void {
  for (const path of SSE_PATHS) {
    router.get(path, (ctx) => {
      if (!ctx.get('accept').includes('text/event-stream')) {
        ctx.status = 406;
        ctx.type = 'text/plain';
        ctx.body = 'Send \'Accept: text/event-stream\' (or POST /api/v1 {"type":"SUBSCRIBE"} for RecordIO)';
        return;
      }
      ctx.status = 200;
      ctx.respond = false;
      stream.attach(ctx.req, ctx.res, 'sse');
    });
  }
  for (const path of ['/api/v1', '/master/api/v1']) {
    router.post(path, (ctx, next) => subscribeCall(ctx, next, stream));
  }
}

/** A JSON `SUBSCRIBE` call is served here; any other body is handed on (replayed) to the next handler. */
async function subscribeCall(ctx: Context, next: Next, stream: MasterEventStream): Promise<void> {
  if (!String(ctx.get('content-type')).includes('application/json')) return next();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    chunks.push(chunk as Buffer);
    if (size > 1024 * 1024) break;
  }
  const body = Buffer.concat(chunks);
  let type: unknown;
  try {
    type = (JSON.parse(body.toString('utf8')) as { type?: unknown } | null)?.type;
  } catch {
    type = undefined;
  }
  if (type !== 'SUBSCRIBE') {
    // The body was consumed: hand the next handler a stream that replays it.
    ctx.req = Object.assign(Readable.from([body]), { headers: ctx.req.headers }) as unknown as IncomingMessage;
    return next();
  }
  ctx.status = 200;
  ctx.respond = false;
  stream.attach(ctx.req, ctx.res, 'recordio');
}
