// runOnce, the one way a use case runs a side effect under the once-gate: the work
// runs for the owner that acquires, a completed gate is `done`, a held one `busy`;
// failed work releases the gate and its error is the one that surfaces.
import { beforeEach, describe, expect, it } from 'vitest';
import { type OnceLease, runOnce } from '../../../../lambdas/core/once.ts';
import type { LeaseResult, OnceGate } from '../../../../lambdas/ports/once-gate.ts';
import { MemoryOnceGate } from '../../../support/memory-index/once-gate.ts';
import { MemoryIndexState } from '../../../support/memory-index/state.ts';

const NOW = new Date('2030-03-01T12:00:00.000Z');
const lease = (owner = 'worker-a'): OnceLease => ({ key: 'relay#m1#0', owner, now: NOW, leaseMs: 60_000 });

/** The in-memory gate, with a log of the calls and a way to make release or complete fail. */
class RecordingGate implements OnceGate {
  readonly calls: string[] = [];
  failOn: 'release' | 'complete' | null = null;
  private readonly inner = new MemoryOnceGate(new MemoryIndexState());

  async acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    this.calls.push(`acquire ${owner}`);
    return this.inner.acquireOnce(key, owner, now, leaseMs);
  }
  async completeOnce(key: string, owner: string): Promise<void> {
    this.calls.push(`complete ${owner}`);
    if (this.failOn === 'complete') throw new Error('complete failed');
    await this.inner.completeOnce(key, owner);
  }
  async releaseOnce(key: string, owner: string): Promise<void> {
    this.calls.push(`release ${owner}`);
    if (this.failOn === 'release') throw new Error('release failed');
    await this.inner.releaseOnce(key, owner);
  }
}

describe('runOnce', () => {
  let gate: RecordingGate;
  let runs: number;
  const work = async () => {
    runs += 1;
    return 'sent';
  };

  beforeEach(() => {
    gate = new RecordingGate();
    runs = 0;
  });

  it('runs the work for the owner that acquires and completes the gate', async () => {
    // Act
    const outcome = await runOnce(gate, lease(), work);
    // Assess
    expect(outcome).toEqual({ status: 'ran', value: 'sent' });
    expect(runs).toBe(1);
    expect(gate.calls).toEqual(['acquire worker-a', 'complete worker-a']);
  });

  it('answers done without running the work once the gate was completed, for every owner', async () => {
    // Prepare
    await runOnce(gate, lease(), work);
    // Act
    const again = await runOnce(gate, lease(), work);
    const other = await runOnce(gate, lease('worker-b'), work);
    // Assess
    expect([again, other]).toEqual([{ status: 'done' }, { status: 'done' }]);
    expect(runs).toBe(1);
  });

  it('answers busy without running the work while another owner holds the gate', async () => {
    // Prepare
    await gate.acquireOnce(lease().key, 'worker-a', NOW, 60_000);
    // Act
    const outcome = await runOnce(gate, lease('worker-b'), work);
    // Assess
    expect(outcome).toEqual({ status: 'busy' });
    expect(runs).toBe(0);
    expect(gate.calls).toEqual(['acquire worker-a', 'acquire worker-b']);
  });

  it('releases the gate when the work fails and rethrows its error; another attempt may then run it', async () => {
    // Act
    const failed = await runOnce(gate, lease(), async () => {
      throw new Error('primary refused');
    }).catch((error: unknown) => error);
    const retried = await runOnce(gate, lease('worker-b'), work);
    // Assess
    expect(failed).toEqual(new Error('primary refused'));
    expect(gate.calls.slice(0, 2)).toEqual(['acquire worker-a', 'release worker-a']);
    expect(retried).toEqual({ status: 'ran', value: 'sent' });
  });

  it("never hides the work's error behind a failed release, and reports the release failure when asked", async () => {
    // Prepare
    gate.failOn = 'release';
    const reported: Array<[string, unknown]> = [];
    // Act
    const silent = await runOnce(gate, lease(), async () => {
      throw new Error('primary refused');
    }).catch((error: unknown) => error);
    const withReport = await runOnce(
      gate,
      lease(),
      async () => {
        throw new Error('primary refused again');
      },
      { onGateError: (step, error) => reported.push([step, error]) },
    ).catch((error: unknown) => error);
    // Assess
    expect(silent).toEqual(new Error('primary refused'));
    expect(withReport).toEqual(new Error('primary refused again'));
    expect(reported).toEqual([['release', new Error('release failed')]]);
  });

  it('throws a failed completion unless onGateError is given; given, it is reported and the work counts as run', async () => {
    // Prepare
    gate.failOn = 'complete';
    const reported: Array<[string, unknown]> = [];
    // Act
    const thrown = await runOnce(gate, lease(), work).catch((error: unknown) => error);
    const outcome = await runOnce(gate, lease(), work, { onGateError: (step, error) => reported.push([step, error]) });
    // Assess
    expect(thrown).toEqual(new Error('complete failed'));
    expect(outcome).toEqual({ status: 'ran', value: 'sent' });
    expect(reported).toEqual([['complete', new Error('complete failed')]]);
    expect(runs).toBe(2);
  });
});
