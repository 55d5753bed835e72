/**
 * Scalar resource quantities (`{cpus: 2, mem: 1024}`) kept in thousandths, as
 * Mesos' ResourceQuantities: what quota guarantees and limits are written in
 * and what a role's consumption is measured in. Pure.
 */
import { Resources, scalarResource } from '@agora/common';

/** Plain form: resource name → amount (3 decimal digits). */
export type QuantityMap = Readonly<Record<string, number>>;

const toMillis = (v: number): number => Math.round(v * 1000);

export class Quantities {
  /** name → thousandths (never negative; zero entries dropped). */
  readonly millis = new Map<string, number>();

  static of(map: QuantityMap | undefined): Quantities {
    const q = new Quantities();
    if (map !== undefined) for (const [k, v] of Object.entries(map)) q.addMillis(k, toMillis(v));
    return q;
  }

  /** The scalar part of `r`, summed over roles. */
  static fromResources(r: Resources): Quantities {
    const q = new Quantities();
    q.addResources(r, 1);
    return q;
  }

  get(name: string): number {
    return (this.millis.get(name) ?? 0) / 1000;
  }

  getMillis(name: string): number {
    return this.millis.get(name) ?? 0;
  }

  isEmpty(): boolean {
    return this.millis.size === 0;
  }

  names(): string[] {
    return [...this.millis.keys()];
  }

  addMillis(name: string, millis: number): void {
    const next = (this.millis.get(name) ?? 0) + millis;
    if (next > 0) this.millis.set(name, next);
    else this.millis.delete(name);
  }

  addResources(r: Resources, sign: 1 | -1): void {
    for (const [name, v] of r.scalars()) this.addMillis(name, sign * toMillis(v));
  }

  add(other: Quantities): void {
    for (const [k, v] of other.millis) this.addMillis(k, v);
  }

  clone(): Quantities {
    const q = new Quantities();
    for (const [k, v] of this.millis) q.millis.set(k, v);
    return q;
  }

  /** Whether every amount here is <= the one in `other` (names absent there count as 0). */
  fitsIn(other: Quantities): boolean {
    for (const [k, v] of this.millis) if (v > other.getMillis(k)) return false;
    return true;
  }

  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of [...this.millis].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out[k] = v / 1000;
    return out;
  }

  /** As unreserved scalar resources. */
  toResources(): Resources {
    let r = Resources.empty();
    for (const [k, v] of this.millis) r = r.add(scalarResource(k, v / 1000));
    return r;
  }
}
