// The audit use cases: `audited` records every action with its outcome, retries a
// failing store and refuses to hide a lost entry; entries are cleaned and bounded;
// listAudit checks its filters and pages newest first.
import { describe, expect, it } from 'vitest';
import { AuditWriteError, audited, listAudit, recordAudit } from '../../../../lambdas/core/audit.ts';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../../../../lambdas/core/errors.ts';
import type { AuditLog } from '../../../../lambdas/ports/audit-log.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';

const clock = () => new ManualClock('2030-03-01T12:00:00.000Z');

describe('audited', () => {
  it('runs the action and records who, what, to what and the result', async () => {
    // Prepare
    const log = new MemoryAuditLog();
    // Act
    const result = await audited(
      log,
      clock(),
      { actor: ' Admin@Corp.Test ', action: 'failover.on', target: 'failover', details: { reason: 'Exchange down' } },
      async () => 42,
      (value) => ({ value }),
    );
    // Assess
    expect(result).toBe(42);
    expect(log.events).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        at: '2030-03-01T12:00:00.000Z',
        actor: 'admin@corp.test',
        action: 'failover.on',
        target: 'failover',
        outcome: 'ok',
        details: { reason: 'Exchange down', value: 42 },
      },
    ]);
  });

  it("records a failed action as error, a forbidden one as denied, and rethrows the action's own error", async () => {
    // Prepare
    const log = new MemoryAuditLog();
    // Act
    const failed = await audited(log, clock(), { actor: 'a@corp.test', action: 'resend.single', target: 'm1' }, async () => {
      throw new NotFoundError('no message m1');
    }).catch((error: unknown) => error);
    const denied = await audited(log, clock(), { actor: 'user@corp.test', action: 'trace.search' }, async () => {
      throw new ForbiddenError();
    }).catch((error: unknown) => error);
    const crashed = await audited(log, clock(), { actor: 'a@corp.test', action: 'trace.search' }, async () => {
      throw new TypeError('secret internals at /var/task/x.js');
    }).catch((error: unknown) => error);
    // Assess
    expect(failed).toBeInstanceOf(NotFoundError);
    expect(denied).toBeInstanceOf(ForbiddenError);
    expect(crashed).toBeInstanceOf(TypeError);
    expect(log.events.map((event) => [event.outcome, event.details.error])).toEqual([
      ['error', 'NOT_FOUND: no message m1'],
      ['denied', 'FORBIDDEN: forbidden'],
      ['error', 'internal error'],
    ]);
  });

  it('retries a failing store; when the entry cannot be written it says so instead of succeeding silently', async () => {
    // Prepare
    const flaky = new MemoryAuditLog();
    flaky.failNext = 2;
    const down = new MemoryAuditLog();
    down.failNext = 100;
    // Act
    const recovered = await audited(flaky, clock(), { actor: 'a@corp.test', action: 'failover.off' }, async () => 'switched');
    const lost = await audited(down, clock(), { actor: 'a@corp.test', action: 'failover.off' }, async () => 'switched').catch(
      (error: unknown) => error,
    );
    // Assess
    expect(recovered).toBe('switched');
    expect(flaky.events).toHaveLength(1);
    expect(lost).toBeInstanceOf(AuditWriteError);
    expect((lost as AuditWriteError).event.action).toBe('failover.off');
  });

  it('does not run an action it could not record: no actor, or an unknown action', async () => {
    // Prepare
    const log = new MemoryAuditLog();
    let ran = 0;
    const action = async () => {
      ran += 1;
    };
    // Act
    const noActor = await audited(log, clock(), { actor: ' \n ', action: 'failover.on' }, action).catch((error: unknown) => error);
    const unknown = await audited(log, clock(), { actor: 'a@corp.test', action: 'audit.delete' as never }, action).catch(
      (error: unknown) => error,
    );
    // Assess
    expect(noActor).toBeInstanceOf(InvalidInputError);
    expect(unknown).toBeInstanceOf(InvalidInputError);
    expect(ran).toBe(0);
    expect(log.events).toEqual([]);
  });

  it('keeps what an actor typed on one line and bounded, so it cannot forge lines in a log view', async () => {
    // Prepare
    const log = new MemoryAuditLog();
    // Act
    await recordAudit(log, clock(), {
      actor: 'cli:root\n2030-03-01 admin@corp.test failover.off',
      action: 'signin',
      target: `m1\r\nX-Injected: yes`,
      details: {
        subject: `a\u2028b\u0000c${'x'.repeat(5000)}`,
        list: Array.from({ length: 80 }, (_, i) => `r${i}\n`),
        'bad key!': 'dropped',
        n: Number.NaN,
      },
    });
    // Assess
    const [event] = log.events;
    expect(event?.actor).toBe('cli:root 2030-03-01 admin@corp.test failover.off');
    expect(event?.target).toBe('m1 X-Injected: yes');
    expect(String(event?.details.subject)).toMatch(/^a b cx+$/);
    expect(String(event?.details.subject).length).toBe(1000);
    expect(event?.details.list).toHaveLength(50);
    expect(event?.details).not.toHaveProperty('bad key!');
    expect(event?.details.n).toBeNull();
  });

  it('offers no way to change or delete an entry: the port has append and list only', () => {
    // Prepare
    const methods: Array<keyof AuditLog> = ['append', 'list'];
    // Assess
    expect(
      Object.getOwnPropertyNames(MemoryAuditLog.prototype)
        .filter((name) => name !== 'constructor')
        .sort(),
    ).toEqual(methods.sort());
  });
});

describe('listAudit', () => {
  async function seeded(): Promise<{ log: MemoryAuditLog; clock: ManualClock }> {
    const log = new MemoryAuditLog();
    const c = clock();
    const entries = [
      ['admin@corp.test', 'failover.on', 40],
      ['cli:root', 'resend.bulk', 29],
      ['admin@corp.test', 'trace.search', 20],
      ['other@corp.test', 'trace.search', 10],
      ['admin@corp.test', 'failover.off', 5],
    ] as const;
    for (const [actor, action, daysAgo] of entries) {
      const at = new ManualClock(new Date(c.now().getTime() - daysAgo * 86_400_000).toISOString());
      await recordAudit(log, at, { actor, action });
    }
    return { log, clock: c };
  }

  it('pages newest first through the last 30 days by default', async () => {
    // Prepare
    const { log, clock: c } = await seeded();
    // Act
    const first = await listAudit({ limit: 2 }, { audit: log, clock: c });
    const second = await listAudit({ limit: 2, cursor: first.nextCursor }, { audit: log, clock: c });
    // Assess
    expect(first.events.map((event) => event.action)).toEqual(['failover.off', 'trace.search']);
    expect(second.events.map((event) => event.action)).toEqual(['trace.search', 'resend.bulk']);
    expect(second.nextCursor).toBeNull();
  });

  it('filters by actor (any case), action and time range', async () => {
    // Prepare
    const { log, clock: c } = await seeded();
    // Act
    const byActor = await listAudit({ actor: 'ADMIN@corp.test', since: '2030-01-01T00:00:00Z' }, { audit: log, clock: c });
    const byAction = await listAudit({ action: 'trace.search' }, { audit: log, clock: c });
    const window = await listAudit({ since: '2030-01-25T00:00:00Z', until: '2030-02-15T00:00:00Z' }, { audit: log, clock: c });
    // Assess
    expect(byActor.events.map((event) => event.action)).toEqual(['failover.off', 'trace.search', 'failover.on']);
    expect(byAction.events.map((event) => event.actor)).toEqual(['other@corp.test', 'admin@corp.test']);
    expect(window.events.map((event) => event.action)).toEqual(['trace.search', 'resend.bulk']);
  });

  it('refuses unknown actions, inverted or huge ranges, bad limits and cursors', async () => {
    // Prepare
    const { log, clock: c } = await seeded();
    const deps = { audit: log, clock: c };
    // Act
    const outcomes = await Promise.all(
      [
        listAudit({ action: 'drop.table' }, deps),
        listAudit({ since: '2030-03-01T00:00:00Z', until: '2030-02-01T00:00:00Z' }, deps),
        listAudit({ since: '2000-01-01T00:00:00Z' }, deps),
        listAudit({ limit: 0 }, deps),
        listAudit({ cursor: '%%%' }, deps),
        listAudit({ since: 'last week' }, deps),
      ].map((promise) =>
        promise.then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidInputError);
  });
});
