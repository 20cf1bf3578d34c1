/**
 * Where every number in a capacity plan came from: the table of sources
 * (measured statistics, inputs, defaults, derivations) that figures cite by
 * id, and the pruning that keeps only the cited ones, renumbered.
 */
import type { CapacityPlan, SourceRef } from './plan-types.js';

export type SourceInit = SourceRef extends infer S ? (S extends SourceRef ? Omit<S, 'id'> : never) : never;

export class Sources {
  readonly table: Record<string, SourceRef> = {};
  private n = 0;
  private readonly byKey = new Map<string, string>();
  add(s: SourceInit, id?: string): string {
    const key = JSON.stringify(s);
    const known = this.byKey.get(key);
    if (known) return known;
    const sid = id ?? `m${++this.n}`;
    this.table[sid] = { id: sid, ...s } as SourceRef;
    this.byKey.set(key, sid);
    return sid;
  }
}

export function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Keep only the sources the plan cites (candidates looked at but not chosen are dropped). */
export function pruneSources(plan: CapacityPlan): Record<string, SourceRef> {
  const used = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'sources' && Array.isArray(v)) for (const id of v) used.add(String(id));
        else walk(v);
      }
    }
  };
  walk({ ...plan, sources: undefined });
  for (const id of [...used]) {
    const s = plan.sources[id];
    if (s?.kind === 'derived') s.from.forEach((f) => used.add(f));
  }
  // Renumber the measured ids m1..mk in table order so the listing has no gaps.
  const rename = new Map<string, string>();
  let n = 0;
  for (const id of Object.keys(plan.sources)) if (used.has(id) && /^m\d+$/.test(id)) rename.set(id, `m${++n}`);
  const re = (id: string): string => rename.get(id) ?? id;
  const rewrite = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(rewrite);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      for (const [k, v] of Object.entries(o)) {
        if (k === 'sources' && Array.isArray(v)) o[k] = v.map((id) => re(String(id)));
        else rewrite(v);
      }
    }
  };
  rewrite({ ...plan, sources: undefined });
  const out: Record<string, SourceRef> = {};
  for (const [id, s] of Object.entries(plan.sources)) {
    if (!used.has(id)) continue;
    const nid = re(id);
    out[nid] = s.kind === 'derived' ? { ...s, id: nid, from: s.from.map(re) } : { ...s, id: nid };
  }
  return out;
}
