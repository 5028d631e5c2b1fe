// The admin console through app.request(): who reaches it (admins only, also while the
// flag is off), and that trace, raw download, resend and the failover switch work and
// leave audit entries — with memory stores for index, raw mail, jobs and audit log.

import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3DownloadLinks } from '../../../../lambdas/adapters/aws/s3-download-links.ts';
import { MAX_WEB_BODY_BYTES } from '../../../../lambdas/core/payload-limits.ts';
import { DEFAULT_RESEND_CONFIG, processResendStep } from '../../../../lambdas/core/resend.ts';
import type { Identity } from '../../../../lambdas/ports/sign-in.ts';
import type { AdminDeps } from '../../../../web/routes/admin.ts';
import { ALICE, type Harness, ORIGIN, sessionCookie, startHarness } from '../../../support/app-under-test.ts';
import { makeRecord, putReceived } from '../../../support/index-contract/fixtures.ts';
import { MemoryRawMailStore, ScriptedRelay } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog, MemoryResendJobs, MemoryResendQueue } from '../../../support/memory-resend.ts';
import { startS3rver } from '../../../support/s3rver.ts';

const ADMIN: Identity = { subject: 'sub-admin', email: 'admin@corp.test', name: 'Ada Admin', groups: ['shadowmail-admins'] };
const MESSAGE_ID = 'msg-admin-0001';
const RAW = 'From: ext@example.org\r\nTo: bob@corp.test\r\nSubject: Quarterly\r\n\r\nbody bytes \u00e4\r\n';

describe('admin console', () => {
  let harness: Harness;
  let index: MemoryMessageIndex;
  let audit: MemoryAuditLog;
  let jobs: MemoryResendJobs;
  let queue: MemoryResendQueue;
  let rawStore: MemoryRawMailStore;
  let app: ReturnType<Harness['makeApp']>;

  beforeEach(async () => {
    harness = await startHarness();
    index = new MemoryMessageIndex();
    audit = new MemoryAuditLog();
    jobs = new MemoryResendJobs();
    queue = new MemoryResendQueue(() => harness.clock.now().getTime());
    rawStore = new MemoryRawMailStore();
    const record = makeRecord(MESSAGE_ID, {
      receivedAt: '2030-03-03T10:00:00.000Z',
      envelopeRecipients: ['bob@corp.test', 'carol@corp.test'],
      summary: { subject: 'Quarterly' },
    });
    await putReceived(index, record);
    rawStore.put(record.raw, RAW);
    const admin: AdminDeps = {
      index,
      rawStore,
      audit,
      clock: harness.clock,
      flag: harness.flag,
      resend: { index, jobs, queue, audit, clock: harness.clock, config: DEFAULT_RESEND_CONFIG },
    };
    app = harness.makeApp({ admin });
    await harness.switchOff();
  });

  afterEach(async () => {
    await harness.close();
  });

  async function as(identity: Identity) {
    const { cookie, session } = await sessionCookie(identity, { clock: harness.clock });
    const get = (path: string) => app.request(`${ORIGIN}${path}`, { headers: { cookie } });
    const post = (path: string, fields: Record<string, string | string[]>) => {
      const body = new URLSearchParams({ _csrf: session.csrf });
      for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
      return app.request(`${ORIGIN}${path}`, {
        method: 'POST',
        body,
        headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      });
    };
    return { get, post, cookie, session };
  }

  const GETS = [
    '/admin',
    '/admin/trace',
    `/admin/trace?search=1&recipient=bob%40corp.test`,
    `/admin/trace/${MESSAGE_ID}`,
    `/admin/trace/${MESSAGE_ID}/raw`,
    '/admin/resend',
    '/admin/jobs',
    '/admin/jobs/rs-20300303-abc',
    '/admin/failover',
    '/admin/audit',
  ];
  const POSTS = [`/admin/trace/${MESSAGE_ID}/resend`, '/admin/resend', '/admin/jobs/rs-20300303-abc/cancel', '/admin/failover'];

  it('refuses a signed-in non-admin on every admin route, flag off and on, and changes nothing', async () => {
    // Prepare
    const alice = await as(ALICE);
    for (const on of [false, true]) {
      if (on) await harness.switchOn();
      // Act
      const gets = await Promise.all(GETS.map((path) => alice.get(path)));
      const posts = await Promise.all(
        POSTS.map((path) => alice.post(path, { on: '1', reason: 'x', mailbox: 'bob@corp.test', since: '2030-03-01', until: '2030-03-04' })),
      );
      // Assess
      // The refusal is requireAdmin's (a valid CSRF token was sent), not the CSRF check's.
      for (const [i, response] of [...gets, ...posts].entries()) {
        const path = [...GETS, ...POSTS][i];
        expect(response.status, path).toBe(403);
        expect(await response.text(), path).toContain('Not allowed');
      }
    }
    expect(audit.events).toEqual([]);
    expect(jobs.jobs.size).toBe(0);
    expect((await harness.flag.read()).changedBy).toBe('cli:test');
  });

  it('sends anonymous visitors to sign-in, also while the flag is off', async () => {
    // Act
    const response = await app.request(`${ORIGIN}/admin/trace?recipient=x`);
    const signIn = await app.request(`${ORIGIN}/auth/login`);
    // Assess
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/auth/login?returnTo=%2Fadmin%2Ftrace%3Frecipient%3Dx');
    expect(signIn.status).toBe(302);
    expect(signIn.headers.get('location')).toContain(harness.provider.discoveryUrl.replace(/\/\.well-known.*$/, ''));
  });

  it('keeps a signed-in non-admin on the status page elsewhere while the flag is off', async () => {
    // Act
    const response = await (await as(ALICE)).get('/mail');
    // Assess
    expect(response.status).toBe(403);
    expect(await response.text()).not.toContain('alice@corp.test');
  });

  it('lets an admin trace while the flag is off, and audits the search', async () => {
    // Prepare
    const admin = await as(ADMIN);
    // Act
    const form = await admin.get('/admin/trace');
    const result = await admin.get('/admin/trace?search=1&recipient=BOB%40corp.test');
    const detail = await admin.get(`/admin/trace/${MESSAGE_ID}`);
    // Assess
    expect(form.status).toBe(200);
    expect(audit.events.filter((e) => e.action === 'trace.search')).toHaveLength(1);
    const html = await result.text();
    expect(result.status).toBe(200);
    expect(html).toContain(`/admin/trace/${MESSAGE_ID}`);
    expect(html).toContain('bob@corp.test: ');
    expect(audit.events[0]).toMatchObject({ actor: 'admin@corp.test', action: 'trace.search', outcome: 'ok' });
    const detailHtml = await detail.text();
    expect(detail.status).toBe(200);
    expect(detailHtml).toContain(`/admin/trace/${MESSAGE_ID}/raw`);
    expect(detailHtml).toContain('name="recipient" value="carol@corp.test"');
    expect(detailHtml).not.toMatch(/<script|style=/);
  });

  it('says in words, German or English, that an attempt failed on a configuration fault', async () => {
    // Prepare
    const { cookie } = await as(ADMIN);
    await index.recordDeliveryAttempt(
      MESSAGE_ID,
      'bob@corp.test',
      {
        at: '2030-03-03T10:01:00.000Z',
        code: 0,
        response: 'not relayed: authentication failed: 535 5.7.3 Authentication unsuccessful',
        outcome: 'deferred',
        configurationFault: 'auth',
      },
      'deferred',
      null,
    );
    await index.recordDeliveryAttempt(
      MESSAGE_ID,
      'carol@corp.test',
      {
        at: '2030-03-03T10:01:00.000Z',
        code: 451,
        response: '451 4.7.0 try later',
        outcome: 'deferred',
      },
      'deferred',
      null,
    );
    const get = (path: string, lang: string) => app.request(`${ORIGIN}${path}`, { headers: { cookie, 'accept-language': lang } });

    // Act
    const english = await (await get(`/admin/trace/${MESSAGE_ID}`, 'en')).text();
    const german = await (await get(`/admin/trace/${MESSAGE_ID}`, 'de-DE,de;q=0.9')).text();
    const list = await (await get('/admin/trace?search=1&recipient=bob%40corp.test', 'en')).text();

    // Assess
    expect(english).toContain('Configuration fault: Exchange refused shadowmail&#39;s login or asked for one');
    expect(english).toContain('the smart-host secret and the receive connector');
    expect(english).toContain('The message is kept and retried.');
    expect(german).toContain('Konfigurationsfehler: Exchange hat die Anmeldung von shadowmail abgelehnt oder verlangt eine');
    expect(german).toContain('Die Nachricht bleibt gespeichert und wird erneut zugestellt.');
    // one fault, one explanation: carol's 451 is no configuration fault
    expect(english.match(/Configuration fault:/g)).toHaveLength(1);
    expect(list).toContain('bob@corp.test: deferred (configuration fault)');
    expect(list).toContain('carol@corp.test: deferred');
    expect(list).not.toContain('carol@corp.test: deferred (');
  });

  it('streams the stored bytes as an attachment and audits the download', async () => {
    // Act
    const response = await (await as(ADMIN)).get(`/admin/trace/${MESSAGE_ID}/raw`);
    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${MESSAGE_ID}.eml"`);
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(RAW))).toBe(true);
    expect(audit.events).toMatchObject([{ actor: 'admin@corp.test', action: 'message.raw-download', target: MESSAGE_ID, outcome: 'ok' }]);
  });

  it('hands a raw message larger than a Lambda response over through a presigned link (S3DownloadLinks on s3rver), audited', async () => {
    // Prepare
    const s3 = await startS3rver(['raw-mail']);
    try {
      const bigId = 'big0000000000000000000000000000000000000';
      const record = makeRecord(bigId, {
        receivedAt: '2030-03-03T11:00:00.000Z',
        envelopeRecipients: ['bob@corp.test'],
        summary: { subject: 'Big' },
      });
      await putReceived(index, record);
      const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), randomBytes(MAX_WEB_BODY_BYTES)]);
      rawStore.put(record.raw, big);
      app = harness.makeApp({
        admin: {
          index,
          rawStore,
          audit,
          clock: harness.clock,
          flag: harness.flag,
          downloadLinks: new S3DownloadLinks(s3.client, { bucket: 'raw-mail' }),
          resend: { index, jobs, queue, audit, clock: harness.clock, config: DEFAULT_RESEND_CONFIG },
        },
      });

      // Act
      const admin = await as(ADMIN);
      const large = await admin.get(`/admin/trace/${bigId}/raw`);
      const download = await fetch(large.headers.get('location') ?? '');
      const small = await admin.get(`/admin/trace/${MESSAGE_ID}/raw`);

      // Assess
      expect(large.status).toBe(302);
      expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${bigId}.eml"`);
      expect(Buffer.from(await download.arrayBuffer()).equals(big)).toBe(true);
      expect(small.status).toBe(200);
      expect(audit.events.map((event) => [event.action, event.target])).toEqual([
        ['message.raw-download', bigId],
        ['message.raw-download', MESSAGE_ID],
      ]);
    } finally {
      await s3.close();
    }
  });

  it('starts a resend of chosen recipients and shows the job', async () => {
    // Prepare
    const admin = await as(ADMIN);
    // Act
    const response = await admin.post(`/admin/trace/${MESSAGE_ID}/resend`, { recipient: ['carol@corp.test'] });
    const location = response.headers.get('location') ?? '';
    const job = await admin.get(location);
    const list = await admin.get('/admin/jobs');
    // Assess
    expect(response.status).toBe(303);
    expect(location).toMatch(/^\/admin\/jobs\/rs-/);
    expect(jobs.jobs.size).toBe(1);
    expect(queue.pending).toHaveLength(1);
    expect(job.status).toBe(200);
    expect(await job.text()).toContain('id="job-counters"');
    expect(await list.text()).toContain(location);
    expect(audit.events).toMatchObject([{ action: 'resend.single', target: MESSAGE_ID, details: { recipients: ['carol@corp.test'] } }]);
  });

  it('reloads the job page and the job list every 5 s while the job runs, and no more once it is settled', async () => {
    // Prepare
    const admin = await as(ADMIN);
    const started = await admin.post(`/admin/trace/${MESSAGE_ID}/resend`, {});
    const location = started.headers.get('location') ?? '';
    const refresh = /<meta http-equiv="refresh" content="(\d+)"\/?>/;
    // Act
    const runningJob = await (await admin.get(location)).text();
    const runningList = await (await admin.get('/admin/jobs')).text();
    const stopped = await (await admin.get(`${location}?refresh=off`)).text();
    // The resend worker runs the job's one step: the primary takes both recipients.
    const relay = new ScriptedRelay();
    for (let entry = queue.takeDue(); entry; entry = queue.takeDue()) {
      await processResendStep(
        entry.step,
        {
          index,
          rawStore,
          relay,
          jobs,
          queue,
          clock: harness.clock,
          workerId: 'test-worker',
          config: { ...DEFAULT_RESEND_CONFIG, stackId: 'shadowmail', leaseMs: 60_000 },
        },
        entry.receives,
      );
    }
    const settledJob = await (await admin.get(location)).text();
    const settledList = await (await admin.get('/admin/jobs')).text();
    // Assess
    expect(refresh.exec(runningJob)?.[1]).toBe('5');
    expect(refresh.exec(runningList)?.[1]).toBe('5');
    // the reload can be turned off (WCAG 2.2.1) and back on
    expect(runningJob).toContain(`href="${location}?refresh=off"`);
    expect(stopped).not.toContain('http-equiv="refresh"');
    expect(stopped).toMatch(new RegExp(`<a href="${location}">`));
    expect(relay.sent).toHaveLength(1);
    expect(settledJob).toContain('<p id="job-state">done</p>');
    expect(settledJob).not.toContain('http-equiv="refresh"');
    expect(settledJob).not.toContain('id="refresh-note"');
    expect(settledList).not.toContain('http-equiv="refresh"');
    expect(runningJob).not.toMatch(/<script/);
  });

  it('starts a bulk resend for one mailbox', async () => {
    // Act
    const response = await (await as(ADMIN)).post('/admin/resend', {
      mailbox: 'bob@corp.test',
      since: '2030-03-01T00:00:00Z',
      until: '2030-03-04T00:00:00Z',
    });
    // Assess
    expect(response.status).toBe(303);
    expect(jobs.jobs.size).toBe(1);
    expect(audit.events).toMatchObject([{ action: 'resend.bulk', target: 'bob@corp.test' }]);
  });

  it('switches the flag through the page, audited with actor and reason, and opens the webmail', async () => {
    // Prepare
    const admin = await as(ADMIN);
    // Act
    const response = await admin.post('/admin/failover', { on: '1', message: 'Exchange is down.', reason: 'datacenter outage' });
    const page = await admin.get('/admin/failover');
    // Assess
    expect(response.status).toBe(303);
    expect(await harness.flag.read()).toMatchObject({
      on: true,
      message: 'Exchange is down.',
      changedBy: 'admin@corp.test',
      reason: 'datacenter outage',
    });
    expect(audit.events).toMatchObject([
      { actor: 'admin@corp.test', action: 'failover.on', outcome: 'ok', details: { reason: 'datacenter outage' } },
    ]);
    expect(await page.text()).toContain('Failover is ON');
  });

  it('says when, by whom and why the flag changed in words and the configured zone, without dangling separators', async () => {
    // Prepare: the flag was switched off by the CLI without a reason (beforeEach), then on by the page.
    const admin = await as(ADMIN);
    const before = await (await admin.get('/admin/failover')).text();
    await admin.post('/admin/failover', { on: '1', message: '', reason: 'datacenter outage' });
    // Act
    const after = await (await admin.get('/admin/failover')).text();
    const german = await (
      await app.request(`${ORIGIN}/admin/failover`, { headers: { cookie: admin.cookie, 'accept-language': 'de' } })
    ).text();
    // Assess
    const stateOf = (page: string) => {
      const start = page.indexOf('id="failover-state"');
      // The visible text only: <time datetime> keeps the machine-readable stamp, as it should.
      return page
        .slice(start, page.indexOf('<form', start))
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ');
    };
    expect(stateOf(before)).toContain('3 March 2030 at 14:05 CET');
    expect(stateOf(before)).toContain('cli:test');
    expect(stateOf(before)).not.toMatch(/2030-03-03T|—\s*(—|$)/);
    expect(stateOf(before)).not.toContain('Reason');
    expect(stateOf(after)).toContain('datacenter outage');
    expect(stateOf(after)).toContain('admin@corp.test');
    expect(stateOf(german)).toContain('3. März 2030 um 14:05 MEZ');
  });

  it('reminds the admin to run shadowmail reconcile when switching off, with the failover window', async () => {
    // Prepare
    const admin = await as(ADMIN);
    await admin.post('/admin/failover', { on: '1', message: 'down', reason: 'outage' });
    const since = (await harness.flag.read()).since!;
    harness.clock.advance(600_000);
    // Act
    const whileOn = await (await admin.get('/admin/failover')).text();
    const off = await admin.post('/admin/failover', { on: '0', reason: 'Exchange is back' });
    const german = await (
      await app.request(`${ORIGIN}/admin/failover`, { headers: { cookie: admin.cookie, 'accept-language': 'de' } })
    ).text();
    // Assess
    const command = `shadowmail reconcile --imap imaps://EXCHANGE-HOST:993 --user SERVICE-ACCOUNT --password-file PASSWORD-FILE --since ${since} --read-state`;
    expect(whileOn).toContain(command);
    expect(off.status).toBe(200);
    const afterOff = await off.text();
    expect(afterOff).toContain('Failover is OFF');
    expect(afterOff).toContain(command);
    expect(afterOff).toContain('--dry-run');
    expect(german).not.toContain('shadowmail reconcile');
  });

  it('lists audit entries, filtered by action', async () => {
    // Prepare
    const admin = await as(ADMIN);
    await admin.get('/admin/trace?search=1&sender=ext%40example.org');
    await admin.get(`/admin/trace/${MESSAGE_ID}/raw`);
    // Act
    const all = await (await admin.get('/admin/audit')).text();
    const filtered = await (await admin.get('/admin/audit?action=message.raw-download')).text();
    // Assess
    expect(all).toContain('trace.search');
    expect(all).toContain('message.raw-download');
    expect(filtered).toContain('message.raw-download');
    expect(filtered).not.toContain('<td>trace.search</td>');
  });

  it('has no route that changes or deletes audit entries', async () => {
    // Prepare
    const admin = await as(ADMIN);
    await admin.get('/admin/trace?search=1&recipient=bob%40corp.test');
    const before = structuredClone(audit.events);
    const id = before[0]!.id;
    // Act
    const attempts = await Promise.all([
      admin.post('/admin/audit', { action: 'delete' }),
      admin.post(`/admin/audit/${id}`, { actor: 'someone' }),
      admin.post(`/admin/audit/${id}/delete`, {}),
      app.request(`${ORIGIN}/admin/audit/${id}`, {
        method: 'DELETE',
        headers: { cookie: admin.cookie, origin: ORIGIN, 'x-csrf-token': admin.session.csrf },
      }),
      app.request(`${ORIGIN}/admin/audit`, {
        method: 'PUT',
        headers: { cookie: admin.cookie, origin: ORIGIN, 'x-csrf-token': admin.session.csrf },
      }),
    ]);
    // Assess
    for (const response of attempts) expect([404, 405]).toContain(response.status);
    expect(audit.events).toEqual(before);
  });
});
