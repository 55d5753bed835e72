/**
 * Identifiers in Mesos' formats: the master id is a UUID; framework ids are
 * `<masterId>-<4-digit counter>`, agent ids `<masterId>-S<n>`, offer ids
 * `<masterId>-O<n>`. Clients treat all ids as opaque strings.
 */
import { randomUUID } from 'node:crypto';

export function newUuid(): string {
  return randomUUID();
}

/** Mints ids under one master id; counters only go up. */
export class IdGenerator {
  private frameworks = 0;
  private agents = 0;
  private offers = 0;

  constructor(readonly masterId: string = randomUUID()) {}

  frameworkId(): string {
    return `${this.masterId}-${String(this.frameworks++).padStart(4, '0')}`;
  }

  agentId(): string {
    return `${this.masterId}-S${this.agents++}`;
  }

  offerId(): string {
    return `${this.masterId}-O${this.offers++}`;
  }
}

/** A 16-byte random UUID as bytes, for status update uuids. */
export function uuidBytes(): Uint8Array {
  const hex = randomUUID().replaceAll('-', '');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Bytes as a canonical UUID string (8-4-4-4-12 hex), or hex for other lengths. */
export function uuidToString(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  if (hex.length !== 32) return hex;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
