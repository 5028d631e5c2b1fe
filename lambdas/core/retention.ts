// Retention arithmetic: when an item expires, and whether it already has.
// The store's TTL deletes late (up to days), so every read filters with isLive.

export const SECONDS_PER_DAY = 86_400;

export function expiresAtFor(receivedAt: string, retentionDays: number): number {
  return Math.floor(Date.parse(receivedAt) / 1000) + retentionDays * SECONDS_PER_DAY;
}

export function isLive(item: { expiresAt: number }, now: Date): boolean {
  return item.expiresAt > Math.floor(now.getTime() / 1000);
}
