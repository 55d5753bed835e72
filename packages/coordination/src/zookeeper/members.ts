/**
 * Election membership, PURE: which children of the election path take part
 * and who leads. A member is a child named `<label><sequence>` (ZooKeeper
 * appends a 10-digit, zero-padded sequence to sequential nodes); children
 * with other names are ignored. The lowest sequence leads.
 */

export interface Member {
  /** The child's name, e.g. `json.info_0000000007`. */
  name: string;
  sequence: number;
}

/** The member a child name stands for, or undefined when it is not one. */
export function parseMember(name: string, label: string): Member | undefined {
  if (!name.startsWith(label)) return undefined;
  const digits = name.slice(label.length);
  // ZooKeeper formats the sequence with %010d, so a wrapped counter shows as '-2147483648'.
  if (!/^-?\d{10,}$/.test(digits)) return undefined;
  const sequence = Number(digits);
  return Number.isSafeInteger(sequence) ? { name, sequence } : undefined;
}

/** The members among `children`, lowest sequence (the leader) first. */
export function sortMembers(children: readonly string[], label: string): Member[] {
  const members: Member[] = [];
  for (const child of children) {
    const member = parseMember(child, label);
    if (member !== undefined) members.push(member);
  }
  return members.sort((a, b) => a.sequence - b.sequence || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Where a contender stands: leading, waiting behind `predecessor`, or no longer a member. */
export type Standing =
  | { kind: 'leader' }
  | { kind: 'follower'; predecessor: Member; position: number }
  | { kind: 'missing' };

/** The standing of the member named `own` among `children`. */
export function standingOf(children: readonly string[], label: string, own: string): Standing {
  const members = sortMembers(children, label);
  const index = members.findIndex((m) => m.name === own);
  if (index === -1) return { kind: 'missing' };
  if (index === 0) return { kind: 'leader' };
  return { kind: 'follower', predecessor: members[index - 1]!, position: index };
}

/** Delay before retry number `attempt` (0-based) of a failed ZooKeeper step: 100 ms doubling to 5 s. */
export function retryDelayMs(attempt: number, maxMs = 5_000): number {
  return Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16));
}
