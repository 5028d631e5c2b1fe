// Declaring the outage with a backlog alarm link: looking changes nothing, confirming
// switches failover on as the link's admin once; a used, expired, forged or foreign
// link, or one whose admin is no longer configured, is refused; a failed switch does
// not use the link up.
import { beforeEach, describe, expect, it } from 'vitest';
import { ALARM_LINK_REASON, type DeclareDeps, declareOutage, viewOutageLink } from '../../../../lambdas/core/declare-outage.ts';
import { OUTAGE_LINK_VALIDITY_SECONDS, OutageLinkSigner } from '../../../../lambdas/core/outage-link.ts';
import { FAILOVER_OFF, type FailoverState } from '../../../../lambdas/ports/failover-flag.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { MemorySingleUse } from '../../../support/memory-single-use.ts';

const SECRET = 'a-session-secret-of-at-least-32-characters';
const ADMIN = 'oncall@corp.example';

describe('declaring the outage with an alarm link', () => {
  let clock: ManualClock;
  let state: FailoverState;
  let failWrite: boolean;
  let audit: MemoryAuditLog;
  let deps: DeclareDeps;
  const signer = new OutageLinkSigner(SECRET);

  beforeEach(() => {
    clock = new ManualClock('2030-03-01T12:00:00.000Z');
    state = FAILOVER_OFF;
    failWrite = false;
    audit = new MemoryAuditLog();
    deps = {
      signer,
      singleUse: new MemorySingleUse(),
      admins: [ADMIN, 'boss@corp.example'],
      flag: {
        read: async () => state,
        write: async (next) => {
          if (failWrite) throw new Error('SSM unavailable');
          state = next;
        },
      },
      backlog: { read: async () => ({ jobs: 12, oldestAgeSeconds: 2400 }) },
      audit,
      clock,
    };
  });

  const issue = (admin = ADMIN) => signer.issue({ admin, alarmAt: new Date('2030-03-01T11:58:00.000Z'), now: clock.now() }).token;

  it('shows the link, the flag and the backlog, and changes nothing', async () => {
    const token = issue();
    const view = await viewOutageLink(token, deps);
    expect(view).toMatchObject({ ok: true, link: { admin: ADMIN }, flag: FAILOVER_OFF, backlog: { jobs: 12, oldestAgeSeconds: 2400 } });
    expect(await viewOutageLink(token, deps)).toMatchObject({ ok: true });
    expect(state.on).toBe(false);
    expect(audit.events).toHaveLength(0);
  });

  it('switches failover on as the admin, audited as via the alarm link', async () => {
    const result = await declareOutage(issue(), 'Exchange is down. Use the webmail.', deps);

    expect(result).toMatchObject({ ok: true, state: { on: true, changedBy: ADMIN, reason: ALARM_LINK_REASON } });
    expect(state).toMatchObject({ on: true, message: 'Exchange is down. Use the webmail.', changedBy: ADMIN });
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ actor: ADMIN, action: 'failover.on', outcome: 'ok', details: { via: 'alarm-link' } });
  });

  it('refuses a link used before, on the page and on confirming, and audits the second try', async () => {
    const token = issue();
    expect((await declareOutage(token, undefined, deps)).ok).toBe(true);

    expect(await viewOutageLink(token, deps)).toEqual({ ok: false, reason: 'used' });
    expect(await declareOutage(token, undefined, deps)).toEqual({ ok: false, reason: 'used' });
    expect(audit.events.map((e) => [e.action, e.outcome, e.details.refused])).toEqual([
      ['failover.on', 'ok', undefined],
      ['failover.on', 'denied', 'used'],
    ]);
  });

  it('lets exactly one of two racing confirmations switch', async () => {
    const token = issue();
    const results = await Promise.all([declareOutage(token, undefined, deps), declareOutage(token, undefined, deps)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('refuses an expired link', async () => {
    const token = issue();
    clock.advance(OUTAGE_LINK_VALIDITY_SECONDS * 1000);
    expect(await viewOutageLink(token, deps)).toEqual({ ok: false, reason: 'expired' });
    expect(await declareOutage(token, undefined, deps)).toEqual({ ok: false, reason: 'expired' });
    expect(state.on).toBe(false);
  });

  it('refuses a forged link and one from another key without an audit entry', async () => {
    const token = issue();
    const forged = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const foreign = new OutageLinkSigner('another-secret-of-at-least-32-characters!!').issue({
      admin: ADMIN,
      alarmAt: clock.now(),
      now: clock.now(),
    }).token;
    for (const bad of [forged, foreign, token.slice(0, -3), 'x']) {
      expect((await declareOutage(bad, undefined, deps)).ok).toBe(false);
    }
    expect(state.on).toBe(false);
    expect(audit.events).toHaveLength(0);
  });

  it('refuses the link of an admin no longer configured', async () => {
    const token = issue('former@corp.example');
    expect(await viewOutageLink(token, deps)).toEqual({ ok: false, reason: 'not-admin' });
    expect(await declareOutage(token, undefined, deps)).toEqual({ ok: false, reason: 'not-admin' });
    expect(state.on).toBe(false);
    expect(audit.events[0]).toMatchObject({ actor: 'former@corp.example', outcome: 'denied', details: { refused: 'not-admin' } });
  });

  it('keeps the link usable when the switch fails (and when the message is refused)', async () => {
    const token = issue();
    failWrite = true;
    await expect(declareOutage(token, undefined, deps)).rejects.toThrow(/SSM unavailable/);
    failWrite = false;
    await expect(declareOutage(token, 'x'.repeat(5000), deps)).rejects.toThrow(/longer than/);
    expect((await declareOutage(token, undefined, deps)).ok).toBe(true);
    expect(audit.events.map((e) => e.outcome)).toEqual(['error', 'error', 'ok']);
  });

  it('shows the link with an unknown backlog when the backlog cannot be read', async () => {
    const view = await viewOutageLink(issue(), { ...deps, backlog: { read: async () => Promise.reject(new Error('no')) } });
    expect(view).toMatchObject({ ok: true, backlog: null });
  });
});
