// The backlog alarm's link token: what it carries, and every way a token that is not
// one we issued (or no longer valid) is refused — altered, truncated, signed with
// another secret or for another purpose, expired, or from a future we did not issue.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OUTAGE_LINK_VALIDITY_SECONDS, OutageLinkSigner } from '../../../../lambdas/core/outage-link.ts';

const SECRET = 'a-session-secret-of-at-least-32-characters';
const NOW = new Date('2030-03-01T12:00:00.000Z');
const ALARM_AT = new Date('2030-03-01T11:58:00.000Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('OutageLinkSigner', () => {
  const signer = new OutageLinkSigner(SECRET);
  const issue = () => signer.issue({ admin: 'oncall@corp.example', alarmAt: ALARM_AT, now: NOW });

  it('round-trips the admin, the alarm time and a 24 h validity', () => {
    const { token, link } = issue();
    expect(signer.verify(token, later(60))).toEqual({ ok: true, link });
    expect(link).toMatchObject({
      admin: 'oncall@corp.example',
      issuedAt: NOW,
      alarmAt: ALARM_AT,
      expiresAt: later(OUTAGE_LINK_VALIDITY_SECONDS),
    });
    expect(link.id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('is short enough for an SMS with its URL (one or two segments)', () => {
    const { token } = issue();
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(120);
  });

  it('gives every link its own id', () => {
    expect(issue().link.id).not.toBe(issue().link.id);
  });

  it('refuses a link from the moment it expires', () => {
    const { token } = issue();
    expect(signer.verify(token, later(OUTAGE_LINK_VALIDITY_SECONDS - 1)).ok).toBe(true);
    expect(signer.verify(token, later(OUTAGE_LINK_VALIDITY_SECONDS))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses every single changed character as forged or malformed', () => {
    const { token } = issue();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < token.length; i += 1) {
      const replacement = alphabet[(alphabet.indexOf(token[i]!) + 1) % alphabet.length]!;
      const altered = token.slice(0, i) + replacement + token.slice(i + 1);
      // The last character carries 4 bits of padding in base64url: changing only those decodes to the same bytes.
      if (Buffer.from(altered, 'base64url').equals(Buffer.from(token, 'base64url'))) continue;
      expect(signer.verify(altered, later(60)).ok, `position ${i}`).toBe(false);
    }
  });

  it('refuses a truncated or extended token', () => {
    const { token } = issue();
    for (const cut of [1, 4, 10, token.length - 5]) expect(signer.verify(token.slice(0, token.length - cut), later(60)).ok).toBe(false);
    expect(signer.verify(`${token}AAAA`, later(60)).ok).toBe(false);
    expect(signer.verify('', later(60))).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify('not a token!', later(60))).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify('A'.repeat(5000), later(60))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a token signed with another secret', () => {
    const other = new OutageLinkSigner('another-secret-of-at-least-32-characters!!');
    const { token } = other.issue({ admin: 'oncall@corp.example', alarmAt: ALARM_AT, now: NOW });
    expect(signer.verify(token, later(60))).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a token made with the same secret for another purpose, and the session key itself', () => {
    const forInlineImages = new OutageLinkSigner(SECRET, 'shadowmail/inline-image-url/v1');
    const { token } = forInlineImages.issue({ admin: 'oncall@corp.example', alarmAt: ALARM_AT, now: NOW });
    expect(signer.verify(token, later(60))).toEqual({ ok: false, reason: 'forged' });
    // A payload MACed with the raw secret (as a cookie signer that used it directly would) is no link either.
    const payload = Buffer.from(issue().token, 'base64url').subarray(0, -32);
    const withRawSecret = Buffer.concat([payload, createHmac('sha256', SECRET).update(payload).digest()]).toString('base64url');
    expect(signer.verify(withRawSecret, later(60))).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a well-signed token whose validity is not the 24 h it issues, or that starts in the future', () => {
    const future = signer.issue({ admin: 'oncall@corp.example', alarmAt: ALARM_AT, now: later(3600) });
    expect(signer.verify(future.token, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a short secret and an empty admin', () => {
    expect(() => new OutageLinkSigner('short')).toThrow(/32 characters/);
    expect(() => signer.issue({ admin: '', alarmAt: ALARM_AT, now: NOW })).toThrow(/username/);
  });
});
