// The backlog alarm's link: a token that lets one break-glass admin switch failover on
// from a phone, once, within 24 hours — nothing else. It is
//   base64url( payload ‖ HMAC-SHA256(key, payload) )
// with a compact binary payload (an SMS carries the whole URL in one or two segments):
//   version (1 byte) ‖ id (12 random bytes) ‖ issued, expires, alarm time (uint32 Unix
//   seconds each) ‖ admin username (UTF-8, the rest).
// The key is derived from the webmail's session secret with HKDF and this purpose's own
// label, so a link's MAC never verifies as a session cookie's (or an inline image URL's)
// and theirs never as a link's. Single use is not the token's business: the id is
// consumed in a store (core/declare-outage.ts).
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export const OUTAGE_LINK_PURPOSE = 'shadowmail/outage-alarm-link/v1';
export const OUTAGE_LINK_VALIDITY_SECONDS = 24 * 3600;
/**
 * Where the webmail answers a link: `/declare?t=<token>`. The token goes in the query,
 * which the API's access log leaves out (lib/constructs/webmail.ts logs $context.path,
 * and an HTTP API cannot redact part of a path); the page's form posts it in the body.
 */
export const OUTAGE_LINK_PATH = '/declare';
export const OUTAGE_LINK_PARAMETER = 't';

export function outageLinkUrl(publicOrigin: string, token: string): string {
  return `${publicOrigin.replace(/\/$/, '')}${OUTAGE_LINK_PATH}?${OUTAGE_LINK_PARAMETER}=${token}`;
}

const VERSION = 1;
const ID_BYTES = 12;
const HEADER_BYTES = 1 + ID_BYTES + 3 * 4;
const MAC_BYTES = 32;
/** A username is an e-mail address (config breakGlass.admins): 254 characters at most. */
const MAX_ADMIN_BYTES = 254;
/** A token issued "in the future" beyond this clock skew is not one we issued. */
const CLOCK_SKEW_SECONDS = 300;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

export interface OutageLink {
  /** 24 hex characters: the key under which the link is consumed. */
  id: string;
  /** The break-glass admin's username the link was sent to. */
  admin: string;
  issuedAt: Date;
  expiresAt: Date;
  /** When the alarm went to ALARM. */
  alarmAt: Date;
}

export type OutageLinkRefusal = 'malformed' | 'forged' | 'expired';
export type OutageLinkCheck = { ok: true; link: OutageLink } | { ok: false; reason: OutageLinkRefusal };

export class OutageLinkSigner {
  private readonly key: Buffer;

  /** `purpose` exists for the tests that prove another purpose's tokens are refused. */
  constructor(secret: string, purpose: string = OUTAGE_LINK_PURPOSE) {
    if (secret.length < 32) throw new Error('the signing secret must have at least 32 characters');
    this.key = Buffer.from(hkdfSync('sha256', secret, '', purpose, 32));
  }

  issue(input: { admin: string; alarmAt: Date; now: Date }): { token: string; link: OutageLink } {
    const admin = Buffer.from(input.admin, 'utf8');
    if (admin.length === 0 || admin.length > MAX_ADMIN_BYTES) throw new Error('an outage link needs an admin username of 1 to 254 bytes');
    const issued = seconds(input.now);
    const payload = Buffer.alloc(HEADER_BYTES + admin.length);
    payload.writeUInt8(VERSION, 0);
    randomBytes(ID_BYTES).copy(payload, 1);
    payload.writeUInt32BE(issued, 1 + ID_BYTES);
    payload.writeUInt32BE(issued + OUTAGE_LINK_VALIDITY_SECONDS, 5 + ID_BYTES);
    payload.writeUInt32BE(seconds(input.alarmAt), 9 + ID_BYTES);
    admin.copy(payload, HEADER_BYTES);
    const token = Buffer.concat([payload, this.mac(payload)]).toString('base64url');
    return { token, link: decode(payload) };
  }

  /** Whether `token` is a link this key issued that has not expired at `now` (not whether it was used). */
  verify(token: string, now: Date): OutageLinkCheck {
    if (token.length > 1024 || !TOKEN_PATTERN.test(token)) return { ok: false, reason: 'malformed' };
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length < HEADER_BYTES + 1 + MAC_BYTES) return { ok: false, reason: 'malformed' };
    const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
    const given = bytes.subarray(bytes.length - MAC_BYTES);
    // The MAC first, in constant time: nothing of the payload is trusted before.
    if (!timingSafeEqual(given, this.mac(payload))) return { ok: false, reason: 'forged' };
    if (payload.readUInt8(0) !== VERSION) return { ok: false, reason: 'malformed' };
    const link = decode(payload);
    const nowSeconds = seconds(now);
    const issued = seconds(link.issuedAt);
    const expires = seconds(link.expiresAt);
    if (expires - issued !== OUTAGE_LINK_VALIDITY_SECONDS || issued > nowSeconds + CLOCK_SKEW_SECONDS)
      return { ok: false, reason: 'malformed' };
    if (nowSeconds >= expires) return { ok: false, reason: 'expired' };
    return { ok: true, link };
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }
}

function decode(payload: Buffer): OutageLink {
  return {
    id: payload.subarray(1, 1 + ID_BYTES).toString('hex'),
    issuedAt: new Date(payload.readUInt32BE(1 + ID_BYTES) * 1000),
    expiresAt: new Date(payload.readUInt32BE(5 + ID_BYTES) * 1000),
    alarmAt: new Date(payload.readUInt32BE(9 + ID_BYTES) * 1000),
    admin: payload.subarray(HEADER_BYTES).toString('utf8'),
  };
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
