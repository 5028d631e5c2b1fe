// The once-gate in memory.
import type { LeaseResult, OnceGate } from '../../../lambdas/ports/once-gate.ts';
import type { MemoryIndexState } from './state.ts';

export class MemoryOnceGate implements OnceGate {
  constructor(private readonly state: MemoryIndexState) {}

  async acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    const gate = this.state.gates.get(key);
    if (gate?.done) return 'done';
    if (gate && gate.owner !== owner && gate.until > now.getTime()) return 'busy';
    this.state.gates.set(key, { owner, until: now.getTime() + leaseMs, done: false });
    return 'acquired';
  }

  async completeOnce(key: string, owner: string): Promise<void> {
    const gate = this.state.gates.get(key);
    if (gate && gate.owner === owner) gate.done = true;
  }

  async releaseOnce(key: string, owner: string): Promise<void> {
    const gate = this.state.gates.get(key);
    if (gate && gate.owner === owner && !gate.done) this.state.gates.delete(key);
  }
}
