/**
 * The deployment planner: from the apps as they are (original) and as they
 * should be (target) to Marathon's ordered steps. PURE.
 *
 * Marathon's `DeploymentPlan` rules:
 * 1. one step stopping every app absent from the target;
 * 2. one step starting every new app (`StartApplication`: a no-op kept for
 *    compatibility, "scale to 0");
 * 3. then the new or changed apps, in layers by the length of their longest
 *    dependency path (dependencies first; one layer = one step, its actions
 *    run in parallel): new → `ScaleApplication`; only `instances` changed →
 *    `ScaleApplication`; anything else (or an explicit restart) →
 *    `RestartApplication`. Empty steps are dropped.
 *
 * So `POST` of a new app plans `[[StartApplication], [ScaleApplication]]`, a
 * `DELETE` plans `[[StopApplication]]`.
 */
import { AgoraError } from '@agora/common';
import type { AppDefinition } from '../model/app-definition.js';
import { isUpgrade } from '../model/app-json.js';

/** Marathon's deployment action names. */
export type DeploymentAction = 'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

export interface DeploymentActionRef {
  readonly action: DeploymentAction;
  readonly app: string;
}

export interface DeploymentStep {
  readonly actions: readonly DeploymentActionRef[];
}

export interface PlanOptions {
  /** Apps to restart even when their definition did not change (`POST /v2/apps/{id}/restart`). */
  restart?: ReadonlySet<string>;
}

/** Apps as the planner needs them (an AppDefinition satisfies it). */
export type PlanApp = AppDefinition;

/**
 * Layer of every app in `apps`: 0 without dependencies (inside `apps`), else
 * 1 + the deepest dependency. A cycle throws AGORA_ERR_APP_INVALID naming it.
 */
export function dependencyLayers(apps: ReadonlyMap<string, Pick<PlanApp, 'id' | 'dependencies'>>): Map<string, number> {
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string, path: string[]): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) {
      const cycle = [...path.slice(path.indexOf(id)), id].join(' -> ');
      throw new AgoraError('AGORA_ERR_APP_INVALID', `Dependency graph has cyclic dependencies: ${cycle}`, {
        data: { cycle: [...path.slice(path.indexOf(id)), id] },
      });
    }
    visiting.add(id);
    let depth = 0;
    for (const dep of apps.get(id)?.dependencies ?? []) {
      if (!apps.has(dep)) continue; // dependencies outside the plan are already in place
      depth = Math.max(depth, visit(dep, [...path, id]) + 1);
    }
    visiting.delete(id);
    layer.set(id, depth);
    return depth;
  };
  for (const id of [...apps.keys()].sort()) visit(id, []);
  return layer;
}

/** The steps that take `original` to `target`. */
export function planDeployment(
  original: ReadonlyMap<string, PlanApp>,
  target: ReadonlyMap<string, PlanApp>,
  options: PlanOptions = {},
): DeploymentStep[] {
  const restart = options.restart ?? new Set<string>();
  const steps: DeploymentStep[] = [];
  const stops = [...original.keys()].filter((id) => !target.has(id)).sort();
  if (stops.length > 0) steps.push({ actions: stops.map((app) => ({ action: 'StopApplication', app })) });
  const starts = [...target.keys()].filter((id) => !original.has(id)).sort();
  if (starts.length > 0) steps.push({ actions: starts.map((app) => ({ action: 'StartApplication', app })) });

  const changed = new Map<string, DeploymentAction>();
  for (const [id, to] of target) {
    const from = original.get(id);
    if (from === undefined) changed.set(id, 'ScaleApplication');
    else if (restart.has(id) || isUpgrade(from, to)) changed.set(id, 'RestartApplication');
    else if (from.instances !== to.instances) changed.set(id, 'ScaleApplication');
  }
  const layers = dependencyLayers(target);
  const byLayer = new Map<number, DeploymentActionRef[]>();
  for (const [app, action] of [...changed].sort(([a], [b]) => a.localeCompare(b))) {
    const l = layers.get(app) ?? 0;
    const list = byLayer.get(l) ?? [];
    list.push({ action, app });
    byLayer.set(l, list);
  }
  for (const l of [...byLayer.keys()].sort((a, b) => a - b)) steps.push({ actions: byLayer.get(l)! });
  return steps;
}

/** Apps a plan touches, sorted. */
export function affectedApps(steps: readonly DeploymentStep[]): string[] {
  return [...new Set(steps.flatMap((s) => s.actions.map((a) => a.app)))].sort();
}

/**
 * The steps of a one-app change as the app manager reports it (the planner
 * over a one-app original/target).
 */
export function stepsForAction(action: DeploymentAction, app: string): DeploymentStep[] {
  switch (action) {
    case 'StartApplication':
      return [{ actions: [{ action, app }] }, { actions: [{ action: 'ScaleApplication', app }] }];
    default:
      return [{ actions: [{ action, app }] }];
  }
}
