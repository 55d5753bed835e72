/**
 * Kills asked for while a task's agent was disconnected: sent when the agent
 * re-registers (Mesos keeps `killedTasks` per agent for the same purpose).
 */
import type { agora } from '@agora/proto';

type KillPolicy = agora.v1.KillPolicy.$Properties;

export interface PendingKill {
  frameworkId: string;
  taskId: string;
  killPolicy: KillPolicy | undefined;
}

export class PendingKills {
  private readonly byAgent = new Map<string, PendingKill[]>();

  add(agentId: string, kill: PendingKill): void {
    const list = (this.byAgent.get(agentId) ?? []).filter(
      (k) => !(k.frameworkId === kill.frameworkId && k.taskId === kill.taskId),
    );
    list.push(kill);
    this.byAgent.set(agentId, list);
  }

  /** The agent's pending kills, forgotten once taken. */
  take(agentId: string): PendingKill[] {
    const list = this.byAgent.get(agentId) ?? [];
    this.byAgent.delete(agentId);
    return list;
  }
}
