/**
 * Custom executors (Mesos' executor API, over a WebSocket): a task whose
 * TaskInfo has an `executor` with a command runs on that executor. The agent
 * starts the executor once per (framework, executor id) in its own sandbox
 * (`executors/<executor id>/runs/<container>`) through the containerizer; the
 * executor connects back to `ws://<MESOS_AGENT_ENDPOINT>/agora/v1/executor`
 * and SUBSCRIBEs, then receives LAUNCH / KILL / MESSAGE / SHUTDOWN and sends
 * UPDATEs (answered ACKNOWLEDGED once the agent's status update manager holds
 * them) and MESSAGEs (forwarded to the framework through the master).
 *
 * An executor that does not subscribe within `registrationTimeoutMs` (Mesos'
 * `--executor_registration_timeout`, 1 min) is killed and its tasks fail
 * (REASON_EXECUTOR_REGISTRATION_TIMEOUT); when an executor exits, its tasks
 * that are not terminal fail (REASON_EXECUTOR_TERMINATED). Subscribed
 * executors get a HEARTBEAT every `heartbeatIntervalMs` (30 s).
 *
 * Recovery: a task on an executor is checkpointed with the executor's run
 * (`ExecutorRunCheckpoint`: its container, sandbox, ExecutorInfo). After an
 * agent restart the run is re-attached to its container and waits
 * `reregistrationTimeoutMs` (Mesos' `--executor_reregistration_timeout`, 2 s)
 * for the executor to SUBSCRIBE again (with its unacknowledged tasks and
 * updates); otherwise the executor is killed and its tasks are reported
 * TASK_LOST (TASK_GONE for partition-aware frameworks) with
 * REASON_EXECUTOR_REREGISTRATION_TIMEOUT. SUBSCRIBEs that arrive before the
 * agent has recovered wait until it has.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Logger, silentLogger } from '@agora/common';
import { agora, type TaskState } from '@agora/proto';
import { type FrameChannel, wrapSocket } from '@agora/transport';
import { WebSocketServer } from 'ws';
import type { Container, VolumeMount } from '../containerizer/containerizer.js';
import { EXECUTOR_PATH, type ExecutorManagerOptions } from './executor-options.js';
import { type EventProps, type ExecutorCall, ExecutorRun } from './executor-run.js';
import type { CustomExecutorTask, ExecutorRunCheckpoint } from './executor-task.js';

export {
  DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS,
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
  EXECUTOR_PATH,
  type ExecutorManagerOptions,
} from './executor-options.js';
export {
  containerCheckpointOf,
  CustomExecutorTask,
  type ExecutorRunCheckpoint,
  isExecutorRunCheckpoint,
} from './executor-task.js';

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;
const EventType = agora.v1.executor.ExecutorEvent.Type;

export class ExecutorManager {
  private readonly runs = new Map<string, ExecutorRun>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly logger: Logger;
  /** Recovery is over (`recovered()`): until then SUBSCRIBEs wait in `waiting`. */
  private ready = false;
  private readonly waiting: Array<[FrameChannel<ExecutorCall, EventProps>, ExecutorCall]> = [];

  constructor(private readonly options: ExecutorManagerOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  /** For the agent's HTTP server: take WebSocket upgrades on EXECUTOR_PATH. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((req.url ?? '').split('?')[0] !== EXECUTOR_PATH) return false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const channel = wrapSocket(ws, agora.v1.executor.ExecutorCall, agora.v1.executor.ExecutorEvent, 'executor');
      const first = channel.onDidReceive((call) => {
        first.dispose();
        this.onFirstCall(channel, call);
      });
    });
    return true;
  }

  /** Run `task` on its executor, starting the executor if needed. The task manager calls `launch()` next. */
  createTask(
    framework: FrameworkInfo,
    frameworkId: string,
    agentId: string,
    task: TaskInfo,
    onStatus: (status: TaskStatus) => void,
    persist?: () => void,
    volumes: readonly VolumeMount[] = [],
  ): CustomExecutorTask {
    const info = task.executor as agora.v1.ExecutorInfo.$Properties;
    const key = `${frameworkId}/${info.executor_id.value}`;
    let run = this.runs.get(key);
    if (run === undefined || run.isTerminated) {
      run = new ExecutorRun(
        (r) => this.forget(r),
        this.options,
        info,
        framework,
        frameworkId,
        agentId,
        this.logger.child({ executorId: info.executor_id.value, frameworkId }),
      );
      this.runs.set(key, run);
      const runner = run.addTask(task, onStatus, persist, volumes);
      void run.start();
      return runner;
    }
    return run.addTask(task, onStatus, persist, volumes);
  }

  /**
   * After an agent restart: a checkpointed task on a custom executor. Its run is
   * re-attached to the executor's container (once per executor), and waits for
   * the executor to re-subscribe. Undefined when the container cannot be recovered.
   */
  recoverTask(
    framework: FrameworkInfo,
    frameworkId: string,
    agentId: string,
    task: TaskInfo,
    state: TaskState,
    cp: ExecutorRunCheckpoint,
    onStatus: (status: TaskStatus) => void,
    persist: () => void,
  ): CustomExecutorTask | undefined {
    const run = this.recoverRun(framework, frameworkId, agentId, cp);
    if (run === undefined) return undefined;
    const runner = run.addTask(task, onStatus, persist);
    runner.restore(state);
    return runner;
  }

  /**
   * After an agent restart: an executor run checkpointed by itself (`executor.json`), recovered even when no
   * task names it (an idle executor), so it can re-subscribe and be given new tasks. False when its container
   * cannot be recovered, or another run of the executor was recovered (its container is then an orphan).
   */
  recoverExecutor(framework: FrameworkInfo, frameworkId: string, agentId: string, cp: ExecutorRunCheckpoint): boolean {
    return this.recoverRun(framework, frameworkId, agentId, cp) !== undefined;
  }

  /** The recovered run of `cp`: the one already recovered (same container), or a new one re-attached to it. */
  private recoverRun(
    framework: FrameworkInfo,
    frameworkId: string,
    agentId: string,
    cp: ExecutorRunCheckpoint,
  ): ExecutorRun | undefined {
    const executorId = cp.executorInfo.executor_id.value;
    const key = `${frameworkId}/${executorId}`;
    let run = this.runs.get(key);
    if (run !== undefined && run.containerId !== cp.containerId) return undefined;
    if (run === undefined) {
      let container: Container;
      try {
        if (this.options.containerizer.recover === undefined) return undefined;
        container = this.options.containerizer.recover(cp.container);
      } catch (err) {
        this.logger.error({ err, executorId }, 'cannot recover an executor');
        return undefined;
      }
      run = new ExecutorRun(
        (r) => this.forget(r),
        this.options,
        cp.executorInfo,
        framework,
        frameworkId,
        agentId,
        this.logger.child({ executorId, frameworkId }),
        { containerId: cp.containerId, sandbox: cp.sandbox, volumes: cp.volumes },
      );
      this.runs.set(key, run);
      run.recoverContainer(container);
    }
    run.knowVolumes(cp.volumes);
    return run;
  }

  /** Recovery is over: serve the SUBSCRIBEs that arrived meanwhile. */
  recovered(): void {
    if (this.ready) return;
    this.ready = true;
    for (const [channel, call] of this.waiting.splice(0)) if (channel.isOpen) this.onFirstCall(channel, call);
  }

  /** A framework message from the master for an executor. */
  frameworkMessage(frameworkId: string, executorId: string, data: Uint8Array): boolean {
    const run = this.runs.get(`${frameworkId}/${executorId}`);
    if (run === undefined || !run.message(data)) {
      this.logger.warn({ frameworkId, executorId }, 'framework message for an executor that is not connected dropped');
      return false;
    }
    return true;
  }

  /** Shut down the framework's executors. */
  shutdownFramework(frameworkId: string): Promise<void> {
    const runs = [...this.runs.values()].filter((r) => r.frameworkId === frameworkId);
    return Promise.all(runs.map((r) => r.shutdown())).then(() => undefined);
  }

  /** Shut down every executor and wait until all have exited. */
  async shutdownAll(): Promise<void> {
    await Promise.all([...this.runs.values()].map((r) => r.shutdown()));
  }

  detachAll(): void {
    for (const run of this.runs.values()) run.detach();
  }

  /** Sandboxes of running executors (never garbage-collected). */
  sandboxes(): string[] {
    return [...this.runs.values()].filter((r) => !r.isTerminated).map((r) => r.sandbox);
  }

  /** Close the WebSocket side. */
  dispose(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  /** An executor run ended. */
  private forget(run: ExecutorRun): void {
    const key = `${run.frameworkId}/${run.executorId}`;
    if (this.runs.get(key) === run) this.runs.delete(key);
  }

  private onFirstCall(channel: FrameChannel<ExecutorCall, EventProps>, call: ExecutorCall): void {
    if (!this.ready) {
      this.waiting.push([channel, call]);
      return;
    }
    const key = `${call.framework_id.value}/${call.executor_id.value}`;
    const run = this.runs.get(key);
    if (call.subscribe === null || run === undefined) {
      const why =
        call.subscribe === null
          ? 'the first call must be SUBSCRIBE'
          : `no executor '${call.executor_id.value}' of framework '${call.framework_id.value}' on this agent`;
      channel.send({ type: EventType.ERROR, error: { message: why } });
      channel.close(4403, why.slice(0, 100));
      return;
    }
    run.attach(channel, call);
  }
}
