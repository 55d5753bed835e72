/**
 * Marathon's validation result shape: `[{path, errors}]`, JSON-pointer-like
 * paths with array indices in parentheses (`/portDefinitions(1)/name`, root
 * `/`). PURE.
 */

export interface Violation {
  path: string;
  errors: string[];
}

/** Collects errors by path, in first-seen order, without duplicates. */
export class Violations {
  private readonly byPath = new Map<string, string[]>();

  add(path: string, error: string): void {
    const list = this.byPath.get(path);
    if (list === undefined) this.byPath.set(path, [error]);
    else if (!list.includes(error)) list.push(error);
  }

  get isEmpty(): boolean {
    return this.byPath.size === 0;
  }

  toArray(): Violation[] {
    return [...this.byPath].map(([path, errors]) => ({ path, errors: [...errors] }));
  }
}

/** Join a parent path and a child key or index: `('/env', 'A')` → `/env/A`, `('/ports', 0)` → `/ports(0)`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent === '/' ? '' : parent}(${key})`;
  return `${parent === '/' ? '' : parent}/${key}`;
}
