/**
 * App constraints (`["field","OP"]` / `["field","OP","value"]`): parsing,
 * validation with Marathon's messages at `/constraints(i)`, evaluation of an
 * offer against the app's placed instances, and the GROUP_BY-aware choice
 * of scale-down victims (`selectInstancesToKill`). PURE.
 */
import { fieldValue, type PlacementView } from './field-values.js';
import {
  CONSTRAINT_OPERATORS,
  isOperator,
  MSG_FIELD_COUNT,
  MSG_MISSING_FIELD,
  MSG_UNKNOWN_OPERATOR,
  type Operator,
} from './operators.js';

export interface Constraint {
  field: string;
  operator: Operator;
  value?: string;
}

/** The checked constraint, or undefined when the entry is not a valid constraint. */
export function parseConstraint(entry: readonly unknown[]): Constraint | undefined {
  if (entry.length < 2 || entry.length > 3 || !entry.every((e) => typeof e === 'string')) return undefined;
  const [field, op, value] = entry as string[];
  const operator = op!.toUpperCase();
  if (field === undefined || field.length === 0 || !isOperator(operator)) return undefined;
  return value === undefined ? { field, operator } : { field, operator, value };
}

/** The app's constraints that are valid (invalid ones were refused at validation). */
export function parseConstraints(entries: readonly unknown[][]): Constraint[] {
  return entries.map(parseConstraint).filter((c): c is Constraint => c !== undefined);
}

/** Validation errors of one constraint entry (Marathon's messages). */
export function constraintErrors(entry: readonly unknown[]): string[] {
  if (entry.length < 2 || entry.length > 3) return [MSG_FIELD_COUNT];
  if (!entry.every((e) => typeof e === 'string')) return [MSG_FIELD_COUNT];
  const [field, op, value] = entry as string[];
  const errors: string[] = [];
  if (field === undefined || field.length === 0) errors.push(MSG_MISSING_FIELD);
  const operator = (op ?? '').toUpperCase();
  if (!isOperator(operator)) return [...errors, MSG_UNKNOWN_OPERATOR];
  return [...errors, ...CONSTRAINT_OPERATORS[operator].validate(value)];
}

/** Whether `offer` satisfies `constraint` given where the app's instances already are. */
export function constraintAccepts(
  constraint: Constraint,
  offer: PlacementView,
  placed: readonly PlacementView[],
): boolean {
  return CONSTRAINT_OPERATORS[constraint.operator].accepts({
    value: constraint.value,
    offered: fieldValue(constraint.field, offer),
    placed: placed.map((p) => fieldValue(constraint.field, p)),
  });
}

/** The first constraint the offer violates, or undefined when it meets them all. */
export function firstUnmet(
  constraints: readonly Constraint[],
  offer: PlacementView,
  placed: readonly PlacementView[],
): Constraint | undefined {
  return constraints.find((c) => !constraintAccepts(c, offer, placed));
}

/**
 * Scale-down victims that keep GROUP_BY groups balanced: while victims are
 * needed, take one from the largest group (by the first GROUP_BY field),
 * choosing within the group in `preferred` order (killSelection). Without a
 * GROUP_BY constraint: the first `count` of `preferred`.
 */
export function selectVictims<T>(
  preferred: readonly T[],
  count: number,
  constraints: readonly Constraint[],
  placementOf: (item: T) => PlacementView,
): T[] {
  const groupBy = constraints.find((c) => c.operator === 'GROUP_BY');
  if (groupBy === undefined || count <= 0) return preferred.slice(0, Math.max(0, count));
  const groups = new Map<string, T[]>();
  for (const item of preferred) {
    const key = fieldValue(groupBy.field, placementOf(item)) ?? '';
    const list = groups.get(key) ?? [];
    list.push(item);
    groups.set(key, list);
  }
  const victims: T[] = [];
  while (victims.length < count) {
    let largest: T[] | undefined;
    for (const list of groups.values())
      if (list.length > 0 && (largest === undefined || list.length > largest.length)) largest = list;
    if (largest === undefined) break;
    victims.push(largest.shift()!);
  }
  return victims;
}
