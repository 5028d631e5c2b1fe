// Local mode's stand-in for Cognito's SMS_OTP sign-in codes: one live code per address,
// bound to the sign-in (interaction) that asked for it, short-lived, a few wrong tries,
// used once — and a per-address rate limit, so the outbox (SNS in AWS) cannot be pumped.
// State is in memory: a restart of local mode voids every open code (users ask again).
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../ports/clock.ts';

/** Six digits, as the brief asks (Cognito's own code is sent by Cognito; its length is not ours to set). */
export const CODE_DIGITS = 6;
/**
 * How long a code works. Cognito takes the answer to a challenge (the SMS_OTP code) only
 * within the app client's AuthSessionValidity, 3 to 15 minutes, default 3; we take the default.
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UserPoolClientType.html
 */
export const CODE_VALIDITY_MS = 3 * 60_000;
/**
 * Wrong codes after which the code is dead and a new one must be asked for. Cognito's own
 * number of tries per code is not documented; three keeps guessing at 3 in a million per code.
 */
export const MAX_WRONG_CODES = 3;
/** At most one code per address per this interval … */
export const CODE_INTERVAL_MS = 30_000;
/** … and at most this many per hour. */
export const CODES_PER_HOUR = 5;

export type CodeRequestAnswer = { ok: true } | { ok: false; reason: 'rate-limited'; retryAfterSeconds: number };
export type CodeCheck = { ok: true } | { ok: false; reason: 'no-code' | 'expired' | 'wrong' | 'too-many-wrong' };

interface LiveCode {
  /** The sign-in (the provider's interaction uid) the code was sent for; only there does it work. */
  flow: string;
  /** sha256 of the code: the digits themselves are only in the SMS. */
  digest: Buffer;
  expiresAt: number;
  wrong: number;
}

export class SignInCodes {
  private readonly live = new Map<string, LiveCode>();
  /** Times (ms) of the code requests per address within the last hour. */
  private readonly requests = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  /**
   * Counts a request for `address` against the rate limit — every request, allowed by the
   * directory or not, so the answer never tells whether the address exists.
   */
  admit(address: string): CodeRequestAnswer {
    const now = this.clock.now().getTime();
    const recent = (this.requests.get(address) ?? []).filter((at) => now - at < 3_600_000);
    const last = recent.at(-1);
    let waitMs = 0;
    if (last !== undefined && now - last < CODE_INTERVAL_MS) waitMs = CODE_INTERVAL_MS - (now - last);
    else if (recent.length >= CODES_PER_HOUR) waitMs = 3_600_000 - (now - recent[0]!);
    if (waitMs > 0) {
      this.requests.set(address, recent);
      return { ok: false, reason: 'rate-limited', retryAfterSeconds: Math.ceil(waitMs / 1000) };
    }
    recent.push(now);
    this.requests.set(address, recent);
    this.evict(now);
    return { ok: true };
  }

  /** A new code for `address` in sign-in `flow`; it replaces any earlier one. */
  issue(address: string, flow: string): string {
    const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
    this.live.set(address, { flow, digest: digest(code), expiresAt: this.clock.now().getTime() + CODE_VALIDITY_MS, wrong: 0 });
    return code;
  }

  /** Checks `code`; a right code is consumed, a wrong one counts (the last allowed wrong one kills the code). */
  check(address: string, flow: string, code: string): CodeCheck {
    const entry = this.live.get(address);
    // A code asked for in another browser's sign-in is no code here.
    if (!entry || entry.flow !== flow) return { ok: false, reason: 'no-code' };
    if (this.clock.now().getTime() >= entry.expiresAt) {
      this.live.delete(address);
      return { ok: false, reason: 'expired' };
    }
    const given = digest(code.trim());
    if (timingSafeEqual(given, entry.digest)) {
      this.live.delete(address);
      return { ok: true };
    }
    entry.wrong += 1;
    if (entry.wrong >= MAX_WRONG_CODES) {
      this.live.delete(address);
      return { ok: false, reason: 'too-many-wrong' };
    }
    return { ok: false, reason: 'wrong' };
  }

  private evict(now: number): void {
    if (this.requests.size < 1000) return;
    for (const [address, times] of this.requests) if (times.every((at) => now - at >= 3_600_000)) this.requests.delete(address);
    for (const [address, entry] of this.live) if (entry.expiresAt <= now) this.live.delete(address);
  }
}

function digest(code: string): Buffer {
  return createHash('sha256').update(code).digest();
}
