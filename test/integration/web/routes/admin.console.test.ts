// The admin console's first page (/admin) through app.request(): every figure shown from
// its port (delivery log, backlog, dead-letter queues, flag, audit log, directory), the
// empty states, a source that cannot be read, German and English, and the self-reload
// that carries the backlog for its trend.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEvent } from '../../../../lambdas/core/audit.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { DEFAULT_RESEND_CONFIG } from '../../../../lambdas/core/resend.ts';
import type { AuditAction } from '../../../../lambdas/ports/audit-log.ts';
import type { ForwardBacklogState } from '../../../../lambdas/ports/forward-backlog.ts';
import type { Identity } from '../../../../lambdas/ports/sign-in.ts';
import type { AdminDeps } from '../../../../web/routes/admin.ts';
import { type Harness, ORIGIN, sessionCookie, startHarness } from '../../../support/app-under-test.ts';
import { makeRecord, putReceived } from '../../../support/index-contract/fixtures.ts';
import { MemoryRawMailStore } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog, MemoryResendJobs, MemoryResendQueue } from '../../../support/memory-resend.ts';

const ADMIN: Identity = { subject: 'sub-admin', email: 'admin@corp.test', name: 'Ada Admin', groups: ['shadowmail-admins'] };

describe('admin console: the first page', () => {
  let harness: Harness;
  let index: MemoryMessageIndex;
  let audit: MemoryAuditLog;
  let backlog: ForwardBacklogState | Error;
  let deps: AdminDeps;

  beforeEach(async () => {
    harness = await startHarness();
    index = new MemoryMessageIndex();
    audit = new MemoryAuditLog();
    backlog = { jobs: 12, oldestAgeSeconds: 3_900 };
    const jobs = new MemoryResendJobs();
    const queue = new MemoryResendQueue(() => harness.clock.now().getTime());
    deps = {
      index,
      rawStore: new MemoryRawMailStore(),
      audit,
      clock: harness.clock,
      flag: harness.flag,
      resend: { index, jobs, queue, audit, clock: harness.clock, config: DEFAULT_RESEND_CONFIG },
      backlog: { read: async () => (backlog instanceof Error ? Promise.reject(backlog) : backlog) },
      deadLetters: [
        { name: 'forward', queue: { depth: async () => ({ waiting: 3, inFlight: 1 }) } },
        { name: 'ingest', queue: { depth: () => Promise.reject(new Error('throttled')) } },
      ],
      directory: {
        readState: async () => ({
          interrupted: false,
          users: [
            makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test' }),
            makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test' }),
            makeDirectoryUser({ id: '3', mailbox: 'carol@corp.test', disabled: true }),
          ],
        }),
      },
    };
    await harness.switchOff();
  });

  afterEach(async () => {
    await harness.close();
  });

  const get = async (path: string, lang = 'en') => {
    const { cookie } = await sessionCookie(ADMIN, { clock: harness.clock });
    const response = await harness.makeApp({ admin: deps }).request(`${ORIGIN}${path}`, { headers: { cookie, 'accept-language': lang } });
    return { status: response.status, html: await response.text(), csp: response.headers.get('content-security-policy') ?? '' };
  };
  const section = (html: string, id: string) => {
    const start = html.indexOf(`id="${id}"`);
    expect(start, id).toBeGreaterThan(0);
    return html
      .slice(start, html.indexOf('</section>', start))
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ');
  };
  const append = (action: AuditAction, actor: string, at: string, target: string | null = null) =>
    audit.append(auditEvent({ actor, action, ...(target && { target }), details: {} }, new Date(at)));

  /** 10:00 received for bob and carol; bob accepted at 10:01, carol deferred at 12:30 (Exchange stopped answering). */
  async function deliveriesWhereExchangeStopped() {
    const record = makeRecord('msg-console-1', {
      receivedAt: '2030-03-03T10:00:00.000Z',
      envelopeRecipients: ['bob@corp.test', 'carol@corp.test'],
    });
    await putReceived(index, record);
    await index.recordDeliveryAttempt(
      record.sesMessageId,
      'bob@corp.test',
      { at: '2030-03-03T10:01:00.000Z', code: 250, response: '2.6.0 Queued mail for delivery', outcome: 'delivered' },
      'delivered',
      null,
    );
    await index.recordDeliveryAttempt(
      record.sesMessageId,
      'carol@corp.test',
      { at: '2030-03-03T12:30:00.000Z', code: 0, response: '', outcome: 'deferred' },
      'deferred',
      'connection refused',
    );
  }

  it('shows Exchange, backlog, dead-letter queues, failover, staff, directory and the last audit entries', async () => {
    // Prepare
    await deliveriesWhereExchangeStopped();
    await append('directory.sync', 'cli:root', '2030-03-03T06:00:00.000Z', 'ldaps://dc1.corp.test');
    await harness.switchOn('Use the webmail until noon.');
    await append('signin', 'alice@corp.test', '2030-03-03T13:05:10.000Z');
    await append('signin', 'alice@corp.test', '2030-03-03T13:06:00.000Z');
    await append('signin.code', 'bob@corp.test', '2030-03-03T13:07:00.000Z');
    await append('signin', 'dave@corp.test', '2030-03-03T09:00:00.000Z');
    // Two messages still waiting for 30 recipients in all, and one the forward finished (0).
    const expires = Math.floor(harness.clock.now().getTime() / 1000) + 86_400;
    await index.setPendingRecipients('waiting-1', 25, expires);
    await index.setPendingRecipients('waiting-2', 5, expires);
    await index.setPendingRecipients('done-1', 0, expires);
    harness.clock.advance(5 * 60_000);
    // Act
    const { status, html } = await get('/admin');
    // Assess
    expect(status).toBe(200);
    const exchange = section(html, 'console-exchange');
    expect(exchange).toContain('Exchange does not accept mail. Since 3 March 2030 at 13:30 CET at the latest.');
    expect(exchange).toContain('Last accepted delivery 3 March 2030 at 11:01 CET (3 hours ago) : 250 2.6.0 Queued mail for delivery');
    expect(exchange).toContain('Last refused or unanswered attempt 3 March 2030 at 13:30 CET (40 minutes ago) : no answer');
    expect(exchange).toMatch(/Recipients waiting for a retry 1 Recipients failed for good 0/);
    expect(exchange).toMatch(/Messages waiting for Exchange 12 Recipients still to deliver 30 The oldest waits for 65 minutes/);
    expect(exchange).toMatch(/forward 3 waiting, 1 being handled ingest Cannot be read right now/);
    const failover = section(html, 'console-failover');
    expect(failover).toContain('Failover is ON');
    expect(failover).toContain('Since 3 March 2030 at 14:05 CET (5 minutes ago)');
    expect(failover).toContain('Switched by cli:test Reason route test Message staff see Use the webmail until noon.');
    expect(failover).toContain('People signed in during this failover: 2.');
    expect(html).toContain('href="/admin/failover"');
    expect(section(html, 'console-directory')).toMatch(/Last sync 3 March 2030 at 07:00 CET \(7 hours ago\) Users 3 Disabled 1/);
    const latest = section(html, 'console-audit');
    expect(latest).toContain('signin.code');
    expect(latest).toContain('directory.sync');
    for (const link of ['/admin/trace', '/admin/resend', '/admin/jobs', '/admin/audit']) expect(html).toContain(`href="${link}"`);
    expect(html).not.toMatch(/>[^<]*\d{4}-\d\d-\d\dT\d\d:\d\d[^<]*</);
  });

  it('says so where there is nothing yet: no deliveries, no backlog, failover off, an empty audit log', async () => {
    // Prepare
    backlog = { jobs: 0, oldestAgeSeconds: null };
    // Act
    const { html } = await get('/admin');
    // Assess
    expect(section(html, 'console-exchange')).toContain('No delivery to Exchange was tried for the messages of the last 24 hours');
    expect(section(html, 'console-exchange')).toMatch(/Last accepted delivery None/);
    expect(section(html, 'console-exchange')).toMatch(
      /Messages waiting for Exchange 0 Recipients still to deliver 0 The oldest waits for None/,
    );
    expect(section(html, 'console-failover')).toContain('Failover is OFF');
    expect(section(html, 'console-failover')).toContain('nobody uses the webmail');
    expect(section(html, 'console-directory')).toContain('Last sync None in the last 30 days');
    expect(section(html, 'console-audit')).toContain('No entries in the last 30 days.');
  });

  it('says the oldest age is not known where the backlog source cannot tell it (SQS)', async () => {
    // Prepare
    backlog = { jobs: 4, oldestAgeSeconds: null };
    // Act
    const { html } = await get('/admin');
    // Assess
    expect(section(html, 'console-exchange')).toMatch(
      /Messages waiting for Exchange 4 Recipients still to deliver 0 The oldest waits for not known yet/,
    );
  });

  it('shows the other parts when one source cannot be read', async () => {
    // Prepare
    backlog = new Error('SQS throttled');
    deps.directory = { readState: () => Promise.reject(new Error('table busy')) };
    // Act
    const { status, html } = await get('/admin');
    // Assess
    expect(status).toBe(200);
    expect(section(html, 'console-exchange')).toMatch(/Backlog Cannot be read right now/);
    expect(section(html, 'console-directory')).toContain('Cannot be read right now');
    expect(section(html, 'console-failover')).toContain('Failover is OFF');
    expect(html).not.toContain('SQS throttled');
  });

  it('speaks German', async () => {
    // Prepare
    await deliveriesWhereExchangeStopped();
    await harness.switchOn();
    // Act
    const { html } = await get('/admin', 'de');
    // Assess
    expect(section(html, 'console-exchange')).toContain('Exchange nimmt keine Mail an. Spätestens seit 3. März 2030 um 13:30 MEZ.');
    expect(section(html, 'console-exchange')).toContain('Die älteste wartet seit 65 Minuten');
    expect(section(html, 'console-failover')).toContain('Notbetrieb ist AN');
    expect(section(html, 'console-failover')).toContain('In diesem Notbetrieb angemeldete Personen: 0.');
    expect(section(html, 'console-directory')).toMatch(/Benutzer 3 Deaktiviert 1/);
  });

  it('reloads itself carrying the backlog for the trend, and stops when asked', async () => {
    // Act
    const first = await get('/admin');
    const again = await get('/admin?backlog=10');
    const forged = await get('/admin?backlog=%22%3E%3Cscript%3E');
    const stopped = await get('/admin?refresh=off');
    // Assess
    // By the page's one script (allowed by its hash), and by a meta refresh only where script is off.
    expect(first.html).toContain('data-refresh-url="/admin?backlog=12" data-refresh-seconds="30"');
    expect(first.html).toContain('<noscript><meta http-equiv="refresh" content="30;url=/admin?backlog=12"/></noscript>');
    expect(first.csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(first.html).toContain('<script>(function () {');
    expect(first.html).not.toContain('id="console-backlog-trend"');
    expect(section(again.html, 'console-exchange')).toContain('Since the last reload 2 more');
    expect(forged.html).not.toContain('id="console-backlog-trend"');
    expect(forged.html).not.toContain('"><script>');
    expect(stopped.html).not.toContain('http-equiv="refresh"');
    expect(stopped.html).not.toContain('<script');
    expect(stopped.csp).not.toContain('script-src');
    expect(stopped.html).toContain('href="/admin">Reload automatically');
  });

  it('links back to the admin’s own mailbox while the webmail is open', async () => {
    // Act
    const off = await get('/admin');
    await harness.switchOn();
    const on = await get('/admin');
    // Assess
    expect(off.html).not.toContain('href="/mail"');
    expect(on.html).toContain('href="/mail"');
  });
});
