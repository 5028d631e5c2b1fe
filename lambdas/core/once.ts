// The one way a use case runs a side effect under the once-gate: acquire, work, then
// complete (it happened) or release (it did not, another attempt may do it).
import type { OnceGate } from '../ports/once-gate.ts';

export interface OnceLease {
  key: string;
  owner: string;
  now: Date;
  leaseMs: number;
}

export type OnceOutcome<T> = { status: 'ran'; value: T } | { status: 'done' } | { status: 'busy' };

export interface OnceOptions {
  /**
   * Gate errors after the work: a failed release never hides the work's own error.
   * Given, a failed completion is reported here instead of thrown — for work whose
   * effect is visible to a person (a sent mail) and must not be reported as failed.
   */
  onGateError?: (step: 'release' | 'complete', error: unknown) => void;
}

export async function runOnce<T>(
  gate: OnceGate,
  lease: OnceLease,
  work: () => Promise<T>,
  options: OnceOptions = {},
): Promise<OnceOutcome<T>> {
  const held = await gate.acquireOnce(lease.key, lease.owner, lease.now, lease.leaseMs);
  if (held !== 'acquired') return { status: held };
  let value: T;
  try {
    value = await work();
  } catch (error) {
    await gate.releaseOnce(lease.key, lease.owner).catch((releaseError: unknown) => options.onGateError?.('release', releaseError));
    throw error;
  }
  if (options.onGateError) {
    const report = options.onGateError;
    await gate.completeOnce(lease.key, lease.owner).catch((error: unknown) => report('complete', error));
  } else {
    await gate.completeOnce(lease.key, lease.owner);
  }
  return { status: 'ran', value };
}
