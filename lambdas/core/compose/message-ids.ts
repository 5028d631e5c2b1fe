// Message ids of the References and In-Reply-To headers: read from a received message,
// checked when a form posts them back, and trimmed to a bounded thread.

const MSG_ID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@[\]:-]{1,250}$/;

/** `<id>` for a valid message id (with or without brackets), else null. */
export function normalizeMessageIdToken(value: string): string | null {
  const bare = value.trim().replace(/^<(.*)>$/s, '$1');
  return MSG_ID.test(bare) ? `<${bare}>` : null;
}

/** The ids of a References / In-Reply-To value or list, valid ones only. */
export function messageIdsIn(values: readonly string[]): string[] {
  const ids: string[] = [];
  for (const value of values) {
    const bracketed = [...value.matchAll(/<([^<>]*)>/g)].map((m) => m[1]!);
    for (const token of bracketed.length > 0 ? bracketed : value.split(/\s+/)) {
      const id = normalizeMessageIdToken(token);
      if (id) ids.push(id);
    }
  }
  return ids;
}

/** Keeps the thread root and the most recent ids, no duplicates (common practice for RFC 5322 §3.6.4). */
export function trimReferences(ids: readonly string[], max: number): string[] {
  const seen = new Set<string>();
  const unique = ids.filter((id) => {
    const key = id.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length <= max) return unique;
  return max <= 1 ? unique.slice(-max) : [unique[0]!, ...unique.slice(-(max - 1))];
}
