/**
 * The values constraints compare: an offer's (or a placed instance's)
 * hostname, fault domain and agent attributes, formatted as Marathon formats
 * them (`mesos/Constraints.scala`, `getValueString`): TEXT as it is, SCALAR
 * with `0.###` and HALF_EVEN rounding, RANGES `[b-e,…]` sorted, SET `{a,b}`
 * sorted. PURE.
 */

/** Mesos value types as numbered in the proto (`Value.Type`). */
export const VALUE_TYPE = { SCALAR: 0, RANGES: 1, SET: 2, TEXT: 3 } as const;

/** The shape of a Mesos attribute (structural, so decoded protos and plain objects both fit). */
export interface AttributeLike {
  name: string;
  type?: number | null;
  scalar?: { value: number } | null;
  ranges?: {
    range?: ReadonlyArray<{ begin: number | { toString(): string }; end: number | { toString(): string } }> | null;
  } | null;
  set?: { item?: readonly string[] | null } | null;
  text?: { value: string } | null;
}

/** Where an instance is, or would be: what constraint fields read. */
export interface PlacementView {
  hostname: string;
  /** Attribute name → formatted value. */
  attributes?: Readonly<Record<string, string>>;
  region?: string;
  zone?: string;
}

/** `0.###` with HALF_EVEN rounding (Java `DecimalFormat` as Marathon configures it). */
export function formatScalar(value: number): string {
  const scaled = value * 1000;
  const floor = Math.floor(scaled);
  const frac = scaled - floor;
  let rounded: number;
  if (Math.abs(frac - 0.5) < 1e-9) rounded = floor % 2 === 0 ? floor : floor + 1;
  else rounded = Math.round(scaled);
  const text = (rounded / 1000).toFixed(3).replace(/\.?0+$/, '');
  return text === '-0' ? '0' : text;
}

/** The attribute's value as Marathon prints it for constraint matching. */
export function formatAttributeValue(attr: AttributeLike): string {
  switch (attr.type ?? VALUE_TYPE.SCALAR) {
    case VALUE_TYPE.SCALAR:
      return formatScalar(attr.scalar?.value ?? 0);
    case VALUE_TYPE.RANGES: {
      const ranges = [...(attr.ranges?.range ?? [])]
        .map((r) => [Number(r.begin.toString()), Number(r.end.toString())] as const)
        .sort((a, b) => a[0] - b[0]);
      return `[${ranges.map(([b, e]) => `${b}-${e}`).join(',')}]`;
    }
    case VALUE_TYPE.SET:
      return `{${[...new Set(attr.set?.item ?? [])].sort().join(',')}}`;
    default:
      return attr.text?.value ?? '';
  }
}

/** Attributes as a name → formatted value map (the first of a repeated name wins). */
export function attributeValues(attrs: readonly AttributeLike[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs) if (!(a.name in out)) out[a.name] = formatAttributeValue(a);
  return out;
}

/** The value of a constraint field at a placement; undefined when the agent lacks it. */
export function fieldValue(field: string, at: PlacementView): string | undefined {
  switch (field) {
    case 'hostname':
    case '@hostname':
      return at.hostname;
    case '@region':
      return at.region;
    case '@zone':
      return at.zone;
    default:
      return at.attributes?.[field];
  }
}
