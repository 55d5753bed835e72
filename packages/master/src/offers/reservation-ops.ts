/**
 * RESERVE, UNRESERVE, CREATE and DESTROY operations in an ACCEPT (Mesos'
 * dynamic reservations and persistent volumes by a framework). Each is checked against what is left of the accepted
 * offers; a valid one changes the agent's resources (through the ledger) and
 * what later operations of the same ACCEPT may use; an invalid one changes
 * nothing and throws AGORA_ERR_INVALID_OPERATION with the reason.
 *
 * Rules (Mesos docs/reservation.md): the reservation role must be a role of the
 * framework and the role the offer was allocated to; a principal, when given,
 * must be the framework's principal (and a framework without a principal may
 * not name one); only unreserved offered resources can be reserved, and only
 * dynamically reserved offered resources can be unreserved (not while a
 * volume is on them). CREATE makes persistent volumes on offered reserved disk
 * (Mesos docs/persistent-volume.md: a persistence id unique per role on the
 * agent, a relative container path); DESTROY removes offered volumes that no
 * task uses. Operations apply in order, so RESERVE, CREATE and a LAUNCH using
 * the volume work in one ACCEPT.
 */
import { AgoraError, type Resources } from '@agora/common';
import { agora } from '@agora/proto';
import type { AgentRecord } from '../agents/agent-manager.js';
import { parseReservation, type ReservationLedger } from '../reservations/ledger.js';
import { parseVolumes } from '../reservations/volumes.js';

const OperationType = agora.v1.Offer.Operation.Type;

export interface ReservationOpContext {
  ledger: ReservationLedger;
  agent: AgentRecord;
  framework: { id: string; roles: readonly string[]; principal: string | undefined };
  /** The role the accepted offers were allocated to, when they share one. */
  offerRole: string | undefined;
  /** What live tasks on the agent use (a volume in use cannot be destroyed). */
  usedOnAgent: () => Resources;
}

function invalid(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_INVALID_OPERATION', message);
}

export function isReservationOperation(op: agora.v1.Offer.IOperation): boolean {
  return (
    op.type === OperationType.RESERVE ||
    op.type === OperationType.UNRESERVE ||
    op.type === OperationType.CREATE ||
    op.type === OperationType.DESTROY
  );
}

function applyVolumeOperation(
  ctx: ReservationOpContext,
  op: agora.v1.Offer.IOperation,
  available: Resources,
): Resources {
  const create = op.type === OperationType.CREATE;
  const what = create ? 'create' : 'destroy';
  const list = (create ? op.create?.volumes : op.destroy?.volumes) ?? [];
  const volumes = parseVolumes(list as agora.v1.Resource[], what);
  for (const role of volumes.roles()) {
    if (!ctx.framework.roles.includes(role)) {
      throw invalid(`${what}: role '${role}' is not a role of framework ${ctx.framework.id}`);
    }
    if (ctx.offerRole !== undefined && ctx.offerRole !== role) {
      throw invalid(`${what}: the offer was allocated to role '${ctx.offerRole}', not '${role}'`);
    }
  }
  const plan = create
    ? ctx.ledger.checkCreate(ctx.agent, volumes, available, { framework: ctx.framework.principal })
    : ctx.ledger.checkDestroy(ctx.agent, volumes, available, ctx.usedOnAgent());
  ctx.ledger.commit(ctx.agent, plan, create ? 'created' : 'destroyed', volumes);
  return plan.available;
}

/** Check and apply one RESERVE / UNRESERVE; returns what is left to use of the offers afterwards. */
export function applyReservationOperation(
  ctx: ReservationOpContext,
  op: agora.v1.Offer.IOperation,
  available: Resources,
): Resources {
  if (op.type === OperationType.CREATE || op.type === OperationType.DESTROY) {
    return applyVolumeOperation(ctx, op, available);
  }
  const reserve = op.type === OperationType.RESERVE;
  const what = reserve ? 'reserve' : 'unreserve';
  const list = (reserve ? op.reserve?.resources : op.unreserve?.resources) ?? [];
  const request = parseReservation(list as agora.v1.Resource[], what);
  for (const part of request.parts) {
    if (!ctx.framework.roles.includes(part.role)) {
      throw invalid(`${what}: role '${part.role}' is not a role of framework ${ctx.framework.id}`);
    }
    if (ctx.offerRole !== undefined && ctx.offerRole !== part.role) {
      throw invalid(`${what}: the offer was allocated to role '${ctx.offerRole}', not '${part.role}'`);
    }
    if (reserve && part.principal !== undefined && part.principal !== ctx.framework.principal) {
      throw invalid(
        ctx.framework.principal === undefined
          ? `reserve: principal '${part.principal}' given, but the framework has no principal`
          : `reserve: principal '${part.principal}' is not the framework's principal '${ctx.framework.principal}'`,
      );
    }
  }
  if (reserve) {
    const next = ctx.ledger.checkReserve(request, available);
    ctx.ledger.applyReserve(ctx.agent, request);
    return next;
  }
  const next = ctx.ledger.checkUnreserve(ctx.agent.id, request, available);
  ctx.ledger.applyUnreserve(ctx.agent, request);
  return next;
}
