// In-memory SingleUse: the reference the DynamoDB adapter's contract test is held to.
import type { SingleUse } from '../../lambdas/ports/single-use.ts';

export class MemorySingleUse implements SingleUse {
  readonly keys = new Map<string, { owner: string; expiresAt: number }>();

  async take(key: string, owner: string, expiresAt: Date, now: Date): Promise<boolean> {
    const held = this.keys.get(key);
    if (held && held.expiresAt > seconds(now)) return false;
    this.keys.set(key, { owner, expiresAt: seconds(expiresAt) });
    return true;
  }

  async isTaken(key: string, now: Date): Promise<boolean> {
    const held = this.keys.get(key);
    return held !== undefined && held.expiresAt > seconds(now);
  }

  async giveBack(key: string, owner: string): Promise<void> {
    if (this.keys.get(key)?.owner === owner) this.keys.delete(key);
  }
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
