/**
 * The reservations of resident apps' instances, in memory and in the store.
 * As with tasks, a write goes to the store first and only then to memory, so
 * memory never holds what a restart would not find; a reservation is stored
 * before the ACCEPT that makes it.
 */
import type { ReservationRecord } from '../model/reservation.js';
import type { ReservationRepository } from '../storage/repositories.js';

export class ReservationTracker {
  private readonly byId = new Map<string, ReservationRecord>();

  constructor(private readonly repository: ReservationRepository) {}

  /** Read every stored reservation (at start). */
  async load(): Promise<number> {
    const stored = await this.repository.list();
    this.byId.clear();
    for (const r of stored) this.byId.set(r.id, r);
    return stored.length;
  }

  get(id: string): ReservationRecord | undefined {
    return this.byId.get(id);
  }

  all(): ReservationRecord[] {
    return [...this.byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  byApp(appId: string): ReservationRecord[] {
    return this.all().filter((r) => r.appId === appId);
  }

  async put(r: ReservationRecord): Promise<void> {
    await this.repository.put(r);
    this.byId.set(r.id, r);
  }

  async remove(id: string): Promise<void> {
    await this.repository.delete(id);
    this.byId.delete(id);
  }
}
