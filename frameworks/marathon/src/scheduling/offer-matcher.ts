/**
 * Does an offer fit instances of an app? A pipeline of small steps, each
 * taking its share of the offer for one instance or refusing with a named
 * reason (Nomad's feasibility stack; Marathon's `ResourceMatcher`). The
 * matcher places as many instances as are wanted and fit, up to a per-offer
 * limit. PURE: resources in, plan out; randomness is an input.
 *
 * ```
 * offer ─► roles ─► container ─► constraints ─► cpus ─► mem ─► disk ─► gpus ─► ports ─► one instance
 *          (accepted roles)                    (each step takes from what the previous left)
 * ```
 *
 * Constraints see the offer's placement (hostname, attributes, domain) and
 * where the app's instances already are, including the ones placed earlier
 * in the same offer (so UNIQUE never puts two on one host).
 */
import { ANY_ROLE, Resources, pickPorts, rangesResource, scalarResource } from '@agora/common';
import { type Constraint, firstUnmet, parseConstraints } from '../constraints/constraints.js';
import type { PlacementView } from '../constraints/field-values.js';
import type { AppSpec } from '../model/app-definition.js';

/** Why an offer (or what is left of it) cannot take one more instance of the app. */
export type RefusalReason =
  | 'UNFULFILLED_ROLE'
  | 'UNSUPPORTED_CONTAINER'
  | 'UNFULFILLED_CONSTRAINT'
  /** A resident app waits for the agents holding its reservations (scheduling/resident-planner.ts). */
  | 'NO_CORRESPONDING_RESERVATION_FOUND'
  | 'INSUFFICIENT_CPUS'
  | 'INSUFFICIENT_MEMORY'
  | 'INSUFFICIENT_DISK'
  | 'INSUFFICIENT_GPUS'
  | 'INSUFFICIENT_PORTS';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'UNFULFILLED_ROLE',
  'UNSUPPORTED_CONTAINER',
  'UNFULFILLED_CONSTRAINT',
  'NO_CORRESPONDING_RESERVATION_FOUND',
  'INSUFFICIENT_CPUS',
  'INSUFFICIENT_MEMORY',
  'INSUFFICIENT_DISK',
  'INSUFFICIENT_GPUS',
  'INSUFFICIENT_PORTS',
];

/** The resources and host ports of one instance to launch. */
export interface InstanceLaunch {
  resources: Resources;
  /** Host ports in portDefinitions order (empty when the app has none). */
  hostPorts: number[];
}

export interface MatchResult {
  launches: InstanceLaunch[];
  /** What is left of the offer. */
  remaining: Resources;
  /** Why the next instance did not fit; absent when the wanted count (or the per-offer limit) was reached. */
  refusal?: RefusalReason;
}

export interface MatchOptions {
  /** Draws in [0, 1) for random host ports; absent: lowest ports first. */
  random?: () => number;
  /** At most this many instances from one offer (Marathon's `--max_instances_per_offer`). @default 5 */
  maxPerOffer?: number;
  /** Where the offer is and where the app's instances already are (for constraints). */
  placement?: OfferPlacement;
}

export interface OfferPlacement {
  offer: PlacementView;
  /** The app's live instances, where they are. */
  placed: readonly PlacementView[];
}

export const DEFAULT_MAX_INSTANCES_PER_OFFER = 5;

/** What a step sees: the app and what is still free for this instance in the accepted roles. */
interface StepContext {
  readonly app: AppSpec;
  readonly pool: Resources;
  readonly roles: readonly string[];
  readonly random: (() => number) | undefined;
  readonly constraints: readonly Constraint[];
  readonly placement: OfferPlacement | undefined;
}

type StepResult = { ok: true; take: Resources; hostPorts?: number[] } | { ok: false; reason: RefusalReason };

interface MatchStep {
  readonly name: string;
  run(ctx: StepContext): StepResult;
}

/**
 * The roles an app may use: `acceptedResourceRoles`, or unreserved plus the
 * app's role — never another role (Marathon 1.9+: acceptedResourceRoles may
 * only name `*` and the app's role; older stored apps are held to it here).
 */
export function acceptedRoles(app: AppSpec): string[] {
  const roles = app.acceptedResourceRoles ?? [ANY_ROLE, app.role];
  return [...new Set(roles.filter((r) => r === ANY_ROLE || r === app.role))];
}

/**
 * The part of `resources` in the given roles. Reservations with a principal or labels (e.g. a resident
 * instance's, see resident-planner.ts) are not for ordinary launches: as Marathon's `ResourceSelector.any`.
 */
function inRoles(resources: Resources, roles: readonly string[]): Resources {
  return roles.reduce(
    (acc, role) =>
      acc.add(role === ANY_ROLE ? resources.unreserved() : resources.reservedFor(role).withoutReservationIdentity()),
    Resources.empty(),
  );
}

/** Take `amount` of a scalar, reserved roles first, then unreserved; undefined if there is not enough. */
function takeScalar(pool: Resources, roles: readonly string[], name: string, amount: number): Resources | undefined {
  if (amount <= 0) return Resources.empty();
  const ordered = [...roles.filter((r) => r !== ANY_ROLE), ...roles.filter((r) => r === ANY_ROLE)];
  let need = amount;
  let taken = Resources.empty();
  for (const role of ordered) {
    const have = (role === ANY_ROLE ? pool.unreserved() : pool.reservedFor(role)).scalar(name);
    const part = Math.min(have, need);
    if (part > 0) {
      taken = taken.add(scalarResource(name, part, role));
      need = Math.round((need - part) * 1000) / 1000;
    }
    if (need <= 0) return taken;
  }
  return undefined;
}

function scalarStep(name: string, field: 'cpus' | 'mem' | 'disk' | 'gpus', reason: RefusalReason): MatchStep {
  return {
    name,
    run(ctx) {
      const take = takeScalar(ctx.pool, ctx.roles, name, ctx.app[field]);
      return take === undefined ? { ok: false, reason } : { ok: true, take };
    },
  };
}

/** The role whose `ports` ranges in `pool` hold `port`, if any. */
function roleHoldingPort(pool: Resources, roles: readonly string[], port: number): string | undefined {
  return roles.find((role) =>
    (role === ANY_ROLE ? pool.unreserved() : pool.reservedFor(role))
      .ranges('ports')
      .some(([b, e]) => port >= b && port <= e),
  );
}

/**
 * Host ports: one per port definition. With `requirePorts` the non-zero
 * definition ports are taken as they are; every other port is picked from
 * the offer's ranges (at random when a random source is given).
 */
const portsStep: MatchStep = {
  name: 'ports',
  run(ctx) {
    const defs = ctx.app.portDefinitions;
    if (defs.length === 0) return { ok: true, take: Resources.empty(), hostPorts: [] };
    const hostPorts: Array<number | undefined> = defs.map(() => undefined);
    let take = Resources.empty();
    if (ctx.app.requirePorts) {
      for (const [i, def] of defs.entries()) {
        if (def.port === 0) continue;
        const role = roleHoldingPort(ctx.pool.subtract(take), ctx.roles, def.port);
        if (role === undefined) return { ok: false, reason: 'INSUFFICIENT_PORTS' };
        take = take.add(rangesResource('ports', [[def.port, def.port]], role));
        hostPorts[i] = def.port;
      }
    }
    const dynamic = hostPorts.filter((p) => p === undefined).length;
    if (dynamic > 0) {
      const picked = pickPorts(ctx.pool.subtract(take), dynamic, ctx.random);
      if (picked === undefined) return { ok: false, reason: 'INSUFFICIENT_PORTS' };
      take = take.add(picked.resources);
      let next = 0;
      for (let i = 0; i < hostPorts.length; i++) if (hostPorts[i] === undefined) hostPorts[i] = picked.ports[next++];
    }
    return { ok: true, take, hostPorts: hostPorts as number[] };
  },
};

/** Apps whose container names an image: the agent runs commands only, so such apps wait. */
const containerStep: MatchStep = {
  name: 'container',
  run(ctx) {
    const c = ctx.app.container;
    const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
    const image = c !== undefined && (isObject(c['docker']) || isObject(c['appc']));
    return image ? { ok: false, reason: 'UNSUPPORTED_CONTAINER' } : { ok: true, take: Resources.empty() };
  },
};

/** The app's constraints against the offer; an app with constraints refuses an offer whose placement is unknown. */
const constraintsStep: MatchStep = {
  name: 'constraints',
  run(ctx) {
    if (ctx.constraints.length === 0) return { ok: true, take: Resources.empty() };
    const p = ctx.placement;
    if (p === undefined || firstUnmet(ctx.constraints, p.offer, p.placed) !== undefined) {
      return { ok: false, reason: 'UNFULFILLED_CONSTRAINT' };
    }
    return { ok: true, take: Resources.empty() };
  },
};

/**
 * The steps, in order. Cheap yes/no checks first (container), then the
 * scalars in Mesos' usual order (cpus, mem, disk, gpus), ports last since
 * they are the only step that draws random numbers.
 */
const STEPS: readonly MatchStep[] = [
  containerStep,
  constraintsStep,
  scalarStep('cpus', 'cpus', 'INSUFFICIENT_CPUS'),
  scalarStep('mem', 'mem', 'INSUFFICIENT_MEMORY'),
  scalarStep('disk', 'disk', 'INSUFFICIENT_DISK'),
  scalarStep('gpus', 'gpus', 'INSUFFICIENT_GPUS'),
  portsStep,
];

/** Place one instance in `available`, or say why it does not fit. */
function matchOne(
  app: AppSpec,
  available: Resources,
  random: (() => number) | undefined,
  constraints: readonly Constraint[],
  placement: OfferPlacement | undefined,
): InstanceLaunch | RefusalReason {
  const roles = acceptedRoles(app);
  const usable = inRoles(available, roles);
  if (usable.isEmpty()) return 'UNFULFILLED_ROLE';
  let pool = usable;
  let resources = Resources.empty();
  let hostPorts: number[] = [];
  for (const step of STEPS) {
    const result = step.run({ app, pool, roles, random, constraints, placement });
    if (!result.ok) return result.reason;
    resources = resources.add(result.take);
    pool = pool.subtract(result.take);
    if (result.hostPorts !== undefined) hostPorts = result.hostPorts;
  }
  return { resources, hostPorts };
}

/**
 * Place up to `wanted` instances of `app` in an offer's resources. Each
 * instance takes its resources from what the previous ones left.
 */
export function matchOffer(
  app: AppSpec,
  wanted: number,
  available: Resources,
  options: MatchOptions = {},
): MatchResult {
  const limit = Math.min(wanted, options.maxPerOffer ?? DEFAULT_MAX_INSTANCES_PER_OFFER);
  const launches: InstanceLaunch[] = [];
  let remaining = available;
  const constraints = parseConstraints(app.constraints);
  let placement = options.placement;
  while (launches.length < limit) {
    const one = matchOne(app, remaining, options.random, constraints, placement);
    if (typeof one === 'string') return { launches, remaining, refusal: one };
    launches.push(one);
    remaining = remaining.subtract(one.resources);
    if (placement !== undefined) placement = { offer: placement.offer, placed: [...placement.placed, placement.offer] };
  }
  return { launches, remaining };
}
