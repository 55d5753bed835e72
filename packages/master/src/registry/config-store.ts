/**
 * Operator configuration kept in the registry: quota and role weights. The
 * quota/weights module reads and writes through this (a `QuotaStore`): reads
 * are the last stored registry; writes resolve once the registry is stored.
 */
import type { Resource } from '@agora/proto';
import { type QuotaConfig, updateQuota, updateWeights } from './operations.js';
import type { Registrar } from './registrar.js';

export interface RoleWeight {
  role: string;
  weight: number;
}

export interface QuotaStore {
  /** Stored quotas (roles without quota are absent). */
  getQuotas(): QuotaConfig[];
  /** Set a role's quota; empty guarantees and limits remove it. Resolves once stored. */
  setQuota(config: QuotaConfig): Promise<void>;
  /** Stored weights (roles at the default weight 1 are absent). */
  getWeights(): RoleWeight[];
  /** Set weights (1 removes the entry). Throws AGORA_ERR_BAD_REQUEST for a weight that is not positive. */
  setWeights(weights: readonly RoleWeight[]): Promise<void>;
}

export function registryQuotaStore(registrar: Registrar): QuotaStore {
  const plain = (list: readonly Resource[]): Resource[] => list.map((r) => ({ ...r }));
  return {
    getQuotas: () =>
      registrar.isRecovered
        ? registrar.registry.quotas.map((q) => ({
            role: q.role,
            guarantees: plain(q.guarantees),
            limits: plain(q.limits),
          }))
        : [],
    setQuota: async (config) => {
      await registrar.apply(updateQuota(config));
    },
    getWeights: () =>
      registrar.isRecovered ? registrar.registry.weights.map((w) => ({ role: w.role, weight: w.weight })) : [],
    setWeights: async (weights) => {
      await registrar.apply(updateWeights(weights));
    },
  };
}
