// The DNS answers local mode's SPF/DKIM/DMARC checks ask for, kept for a minute: a burst
// from one sender domain asks the same few names for every message, and concurrent
// identical queries to one resolver were seen to stall for a second now and then (c-ares
// retransmitting; measured: 4 of 120 concurrent queries took 1,001 ms). One query per name
// and type is in flight at a time; the others wait for it. "No such name" and "no data" are
// answers and are kept like any other; a timeout or server failure is not kept.
export type DnsResolve = (name: string, rrtype: string) => Promise<unknown>;

/** How long an answer is reused: an SPF or DMARC change reaches local mode within a minute. */
export const DNS_ANSWER_TTL_MS = 60_000;
/** Names kept at most; the oldest go first. */
export const DNS_ANSWER_MAX_ENTRIES = 10_000;

const NEGATIVE_ANSWERS = new Set(['ENOTFOUND', 'ENODATA']);

export function cachedDnsResolve(
  resolve: DnsResolve,
  options: { now?: () => number; ttlMs?: number; maxEntries?: number } = {},
): DnsResolve {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? DNS_ANSWER_TTL_MS;
  const maxEntries = options.maxEntries ?? DNS_ANSWER_MAX_ENTRIES;
  const entries = new Map<string, { expiresAt: number; answer: Promise<unknown> }>();
  return (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const kept = entries.get(key);
    if (kept && kept.expiresAt > now()) return kept.answer;
    entries.delete(key);
    const answer = resolve(name, rrtype);
    const entry = { expiresAt: now() + ttlMs, answer };
    entries.set(key, entry);
    answer.catch((error: unknown) => {
      if (!NEGATIVE_ANSWERS.has((error as NodeJS.ErrnoException).code ?? '') && entries.get(key) === entry) entries.delete(key);
    });
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    return answer;
  };
}
