/**
 * The resource algebra and its Mesos text syntax, plus agent attributes.
 *
 * ```ts
 * const r = parseResources('cpus:2;mem:1024;ports:[31000-31009];cpus(web):1');
 * r.allocatableTo('web').scalar('cpus'); // 3
 * ```
 */
export { ANY_ROLE, Resources } from './resources.js';
export { formatResources, parseResources, parseResourcesJson } from './text.js';
export { attributesToJson, formatAttributes, parseAttributes } from './attributes.js';
export { pickPorts, rangesResource, scalarResource } from './ports.js';
export { checkContainerPath, checkPersistenceId, type VolumeIdentity } from './volume.js';
export { makeReservation, type ReservationIdentity, type ReservationLabel } from './reservation.js';
