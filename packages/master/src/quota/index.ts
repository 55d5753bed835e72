/** Quota and role weights: request parsing and validation, and the service over the registry's QuotaStore. */
export {
  badRequest,
  checkQuotaRole,
  parseJson,
  parseQuantities,
  parseQuotaUpdate,
  parseWeights,
  type QuotaRequest,
  type QuotaUpdate,
  toValueMap,
  type WeightRequest,
} from './quota-request.js';
export { QuotaService } from './quota-service.js';
export { buildRolesJson, type RolesViewInput } from './roles-view.js';
export { clusterTotalOf } from './cluster-total.js';
