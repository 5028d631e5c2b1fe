// The AuditLog contract, run against the in-memory reference, DynamoDB (dynalite and
// DynamoDB Local) and the embedded SQLite store: append-only (never overwritten), paged
// newest first across days with filters, each event once, foreign cursors refused.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lambdas/core/errors.ts';
import type { AuditAction, AuditEvent, AuditFilter, AuditLog, AuditPage } from '../../lambdas/ports/audit-log.ts';
import { freshPerTest } from './fresh-per-test.ts';

export const NOW = Date.parse('2030-03-01T12:00:00.000Z');

export function event(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    at: new Date(NOW - n * 3_600_000).toISOString(),
    actor: 'admin@corp.test',
    action: 'trace.search',
    target: null,
    outcome: 'ok',
    details: {},
    ...overrides,
  };
}

export const window = (more: Partial<AuditFilter> = {}): AuditFilter => ({
  since: new Date(NOW - 30 * 86_400_000).toISOString(),
  until: new Date(NOW + 60_000).toISOString(),
  limit: 100,
  ...more,
});

export async function allPages(log: AuditLog, filter: AuditFilter, maxPages = 500): Promise<AuditPage[]> {
  const pages: AuditPage[] = [];
  let cursor: string | null = null;
  do {
    if (pages.length >= maxPages) throw new Error(`still a cursor after ${maxPages} pages`);
    const page = await log.list({ ...filter, cursor });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

export const ids = (pages: AuditPage[]) => pages.flatMap((page) => page.events.map((e) => Number(e.id.slice(-12))));

export interface LogUnderTest {
  log: AuditLog;
  cleanup?(): Promise<void>;
}

export function describeAuditLogContract(name: string, make: () => Promise<LogUnderTest>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    const current = freshPerTest(make);
    beforeEach(() => {
      log = current().log;
    });

    it('keeps an event exactly as appended', async () => {
      // Prepare
      const stored = event(1, {
        actor: 'cli:root',
        action: 'resend.bulk',
        target: 'alice@corp.test',
        outcome: 'error',
        details: { since: '2030-02-01T00:00:00Z', count: 3, ok: false, none: null, recipients: ['a@corp.test', 'b@corp.test'] },
      });
      // Act
      await log.append(stored);
      // Assess
      expect((await log.list(window())).events).toEqual([stored]);
    });

    it('never overwrites an event: a second append with the same time and id is refused', async () => {
      // Prepare
      await log.append(event(1, { details: { reason: 'original' } }));
      // Act
      const forged = await log
        .append(event(1, { actor: 'mallory@corp.test', details: { reason: 'forged' } }))
        .catch((error: unknown) => error);
      // Assess
      expect(forged).toBeInstanceOf(InvalidInputError);
      expect((await log.list(window())).events).toEqual([event(1, { details: { reason: 'original' } })]);
    });

    it('pages newest first across days, each event once, within [since, until)', async () => {
      // Prepare: one event every 7 hours over 10 days, appended in scrambled order
      const order = Array.from({ length: 35 }, (_, i) => (i * 11) % 35);
      for (const i of order) await log.append(event(i * 7));
      // Act
      const pages = await allPages(
        log,
        window({ limit: 4, since: new Date(NOW - 7 * 24 * 3_600_000).toISOString(), until: new Date(NOW - 7 * 3_600_000).toISOString() }),
      );
      // Assess
      const expected = Array.from({ length: 35 }, (_, i) => i * 7).filter((hours) => hours > 7 && hours <= 7 * 24);
      expect(ids(pages)).toEqual(expected);
      for (const page of pages) expect(page.events.length).toBeLessThanOrEqual(4);
    });

    it('filters by actor and action', async () => {
      // Prepare
      const actions: AuditAction[] = ['failover.on', 'trace.search', 'resend.single', 'trace.search'];
      for (let i = 0; i < 12; i += 1) {
        await log.append(event(i, { actor: i % 3 === 0 ? 'cli:root' : 'admin@corp.test', action: actions[i % 4]! }));
      }
      // Act
      const byActor = await allPages(log, window({ actor: 'cli:root', limit: 2 }));
      const byAction = await allPages(log, window({ action: 'trace.search', limit: 2 }));
      const both = await allPages(log, window({ actor: 'cli:root', action: 'trace.search' }));
      // Assess
      expect(ids(byActor)).toEqual([0, 3, 6, 9]);
      expect(ids(byAction)).toEqual([1, 3, 5, 7, 9, 11]);
      expect(ids(both)).toEqual([3, 9]);
    });

    it('reaches both ends of a year with quiet days between (short pages with a cursor are fine)', async () => {
      // Prepare
      await log.append(event(1));
      await log.append(event(24 * 360));
      // Act
      const pages = await allPages(log, window({ since: new Date(NOW - 400 * 86_400_000).toISOString() }));
      // Assess
      expect(ids(pages)).toEqual([1, 24 * 360]);
    });

    it('refuses a cursor it did not issue', async () => {
      // Act
      const outcome = await log.list(window({ cursor: 'not-ours!' })).catch((error: unknown) => error);
      // Assess
      expect(outcome).toBeInstanceOf(InvalidInputError);
    });
  });
}
