// Port: a gate that lets a side effect (enqueue a forward job, relay, send) happen once
// although SQS delivers at least once and two workers may hold the same message.
export type LeaseResult = 'acquired' | 'busy' | 'done';

export interface OnceGate {
  /**
   * `acquired`: the caller owns the key until `leaseMs` runs out and must complete or
   * release it; `busy`: another owner holds it; `done`: it was completed before.
   */
  acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult>;
  completeOnce(key: string, owner: string): Promise<void>;
  releaseOnce(key: string, owner: string): Promise<void>;
}
