/**
 * Marathon's placement constraints (`mesos/Constraints.scala`,
 * `api/v2/validation/SchedulingValidation.scala`): one evaluator per
 * operator in a registry that refuses two operators of one name. An
 * evaluator validates the constraint's value (Marathon's 422 messages) and
 * says whether an offer's field value is acceptable given the values of the
 * app's placed instances. A missing value (the agent lacks the attribute)
 * fails every operator except UNLIKE, which accepts it. PURE.
 *
 * | op       | value      | accepts v iff                                                             |
 * |----------|------------|---------------------------------------------------------------------------|
 * | UNIQUE   | none       | no placed instance has v                                                  |
 * | CLUSTER  | optional   | v == value; without value: v == the first placed instance's value        |
 * | GROUP_BY | optional n | v unused, or (#values ≥ n and count(v) is the smallest count) — classic   |
 * | LIKE     | regex      | v fully matches                                                           |
 * | UNLIKE   | regex      | v does not fully match, or v is missing                                   |
 * | MAX_PER  | int k      | count(v) < k                                                              |
 * | IS       | text/float | v == value (scalars compared as `0.###`)                                  |
 */
import { formatScalar } from './field-values.js';

export const OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'] as const;
export type Operator = (typeof OPERATORS)[number];

export const MSG_UNKNOWN_OPERATOR =
  'operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS';
export const MSG_FIELD_COUNT = 'Each constraint must have either 2 or 3 fields';
export const MSG_MISSING_FIELD = 'missing field for constraint declaration';
export const MSG_UNIQUE_VALUE = 'UNIQUE does not accept a value';
export const MSG_GROUP_BY_VALUE = 'GROUP BY must define an integer value or else no value at all';
export const MSG_LIKE_VALUE = 'LIKE and UNLIKE require a non-empty, regular expression value';
export const MSG_MAX_PER_VALUE = 'MAX_PER requires an integer value';
export const MSG_IS_VALUE =
  'IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)';

/** What an evaluator sees for one offer. */
export interface ConstraintInput {
  /** The constraint's value (third element), if any. */
  value: string | undefined;
  /** The offer's value of the field; undefined when the agent lacks it. */
  offered: string | undefined;
  /** The field's value at each placed instance of the app (undefined where unknown). */
  placed: ReadonlyArray<string | undefined>;
}

export interface ConstraintEvaluator {
  /** Marathon's validation errors for this operator's value (empty when valid). */
  validate(value: string | undefined): string[];
  /** Whether the offer is acceptable. */
  accepts(input: ConstraintInput): boolean;
}

/** Build the registry; refuses an operator named twice (a typo would otherwise silently replace one). */
export function defineOperators(
  entries: ReadonlyArray<readonly [Operator, ConstraintEvaluator]>,
): Readonly<Record<Operator, ConstraintEvaluator>> {
  const out: Partial<Record<Operator, ConstraintEvaluator>> = {};
  for (const [name, evaluator] of entries) {
    if (out[name] !== undefined) throw new Error(`constraint operator ${name} is defined twice`);
    out[name] = evaluator;
  }
  const missing = OPERATORS.filter((o) => out[o] === undefined);
  if (missing.length > 0) throw new Error(`constraint operators without an evaluator: ${missing.join(', ')}`);
  return out as Record<Operator, ConstraintEvaluator>;
}

const INT_RE = /^-?\d+$/;

/** Java `String.matches`: the whole string must match. */
export function fullMatch(pattern: string, text: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(text);
}

function validRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function counts(placed: ReadonlyArray<string | undefined>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of placed) if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

const likeValidate = (value: string | undefined): string[] => {
  if (value === undefined || value.length === 0) return [MSG_LIKE_VALUE];
  return validRegex(value) ? [] : [`'${value}' is not a valid regular expression`];
};

const IS_VALUE_RE = /^[a-zA-Z0-9_/.-]*$/;

export const CONSTRAINT_OPERATORS = defineOperators([
  [
    'UNIQUE',
    {
      validate: (value) => (value === undefined ? [] : [MSG_UNIQUE_VALUE]),
      accepts: ({ offered, placed }) => offered !== undefined && !placed.includes(offered),
    },
  ],
  [
    'CLUSTER',
    {
      validate: () => [],
      accepts: ({ value, offered, placed }) => {
        if (offered === undefined) return false;
        if (value !== undefined && value.length > 0) return offered === value;
        const first = placed.find((v) => v !== undefined);
        return first === undefined || first === offered;
      },
    },
  ],
  [
    'GROUP_BY',
    {
      validate: (value) => (value === undefined || INT_RE.test(value) ? [] : [MSG_GROUP_BY_VALUE]),
      accepts: ({ value, offered, placed }) => {
        if (offered === undefined) return false;
        const min = Math.max(0, value === undefined ? 0 : Number.parseInt(value, 10));
        const byValue = counts(placed);
        const mine = byValue.get(offered);
        if (mine === undefined) return true;
        const smallest = Math.min(...byValue.values());
        return byValue.size >= min && mine === smallest;
      },
    },
  ],
  [
    'LIKE',
    {
      validate: likeValidate,
      accepts: ({ value, offered }) => offered !== undefined && value !== undefined && fullMatch(value, offered),
    },
  ],
  [
    'UNLIKE',
    {
      validate: likeValidate,
      accepts: ({ value, offered }) => offered === undefined || value === undefined || !fullMatch(value, offered),
    },
  ],
  [
    'MAX_PER',
    {
      validate: (value) => (value !== undefined && INT_RE.test(value) ? [] : [MSG_MAX_PER_VALUE]),
      accepts: ({ value, offered, placed }) =>
        offered !== undefined && (counts(placed).get(offered) ?? 0) < Number.parseInt(value ?? '0', 10),
    },
  ],
  [
    'IS',
    {
      validate: (value) => (value !== undefined && IS_VALUE_RE.test(value) ? [] : [MSG_IS_VALUE]),
      accepts: ({ value, offered }) => {
        if (offered === undefined || value === undefined) return false;
        if (offered === value) return true;
        const n = Number(value);
        return value.trim() !== '' && Number.isFinite(n) && formatScalar(n) === offered;
      },
    },
  ],
]);

export function isOperator(name: string): name is Operator {
  return (OPERATORS as readonly string[]).includes(name);
}
