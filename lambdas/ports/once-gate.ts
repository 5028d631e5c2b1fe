// Port: a gate that lets a side effect (enqueue a forward job, relay, send) happen once
// although SQS delivers at least once and two workers may hold the same message.
/** How long a store keeps a gate after it was acquired, unless configured otherwise: SQS cannot redeliver that late. */
export const DEFAULT_GATE_RETENTION_SECONDS = 30 * 86_400;

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
