// The local provider's break-glass paths over HTTP, as a browser would use them, with
// the real OIDC client (code + PKCE, aws-jwt-verify) taking the tokens: the SMS code
// (rule, uniform answers, expiry, wrong tries, single use, rate limit, audit), the
// admin password + TOTP (both factors, each TOTP code once), `idp down` (the password
// form gone and refused) and the claims of each kind of token.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOTP } from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BreakGlassAdminStore, MAX_FAILED_ADMIN_SIGN_INS } from '../../../../../lambdas/adapters/local/break-glass-admin-store.ts';
import { breakGlassPaths } from '../../../../../lambdas/adapters/local/break-glass-sign-in.ts';
import { DEMO_ADMIN_GROUP, DemoDirectory } from '../../../../../lambdas/adapters/local/demo-directory.ts';
import { type LocalOidcProvider, startLocalOidcProvider } from '../../../../../lambdas/adapters/local/local-oidc-provider.ts';
import { CODE_INTERVAL_MS, CODE_VALIDITY_MS, CODES_PER_HOUR, SignInCodes } from '../../../../../lambdas/adapters/local/sign-in-codes.ts';
import { OidcSignIn } from '../../../../../lambdas/adapters/oidc/oidc-sign-in.ts';
import { makeDirectoryUser, syncDirectory } from '../../../../../lambdas/core/directory.ts';
import type { FailoverState } from '../../../../../lambdas/ports/failover-flag.ts';
import type { SmsMessage } from '../../../../../lambdas/ports/sms-sender.ts';
import { ManualClock } from '../../../../support/memory-adapters.ts';
import { MemoryDirectoryStore } from '../../../../support/memory-directory-store.ts';
import { MemoryAuditLog } from '../../../../support/memory-resend.ts';
import { browseProvider, CookieJar } from '../../../../support/oidc-fetch-flow.ts';

const POOL = 'zz-local-1_shadowmailBreakGlass';
const CLIENT_ID = 'shadowmail-webmail';
const REDIRECT = 'http://127.0.0.1:9/auth/callback';
const DOMAIN = 'corp.test';

let dir: string;
let provider: LocalOidcProvider;
let clock: ManualClock;
let flag: FailoverState;
let sent: SmsMessage[];
let audit: MemoryAuditLog;
let admins: BreakGlassAdminStore;
let idpDownFile: string;
const store = new MemoryDirectoryStore();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shadowmail-breakglass-'));
  const directory = await DemoDirectory.open(join(dir, 'directory.json'), DOMAIN);
  const demo = await directory.asSource().readAll();
  // The demo users, plus carol (disabled) and dave (no mobile number): the rule's refusals.
  const users = [
    ...demo.users,
    makeDirectoryUser({ id: 'carol-id', mailbox: `carol@${DOMAIN}`, disabled: true, mobile: '+4915550000009' }),
    makeDirectoryUser({ id: 'dave-id', mailbox: `dave@${DOMAIN}` }),
  ];
  await syncDirectory({ description: 'test', readAll: async () => ({ users, warnings: [] }) }, store, {
    owner: 'test',
    now: () => new Date(),
  });
  clock = new ManualClock('2030-03-01T09:00:00Z');
  audit = new MemoryAuditLog();
  admins = new BreakGlassAdminStore(join(dir, 'break-glass-admins.json'), clock);
  idpDownFile = join(dir, 'idp-down');
  provider = await startLocalOidcProvider({
    port: 0,
    keysFile: join(dir, 'oidc-keys.json'),
    userPoolId: POOL,
    directory,
    client: { clientId: CLIENT_ID, redirectUris: [REDIRECT], postLogoutRedirectUris: ['http://127.0.0.1:9/'] },
    idpDownFile,
    breakGlass: breakGlassPaths({
      flag: { read: async () => flag },
      directory: store,
      sms: { send: async (message) => void sent.push(message) },
      codes: new SignInCodes(clock),
      admins,
      adminGroup: DEMO_ADMIN_GROUP,
      audit,
      clock,
    }),
  });
});

afterAll(async () => {
  await provider?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  flag = { on: true, since: '2030-03-01T08:00:00Z', message: '', changedBy: 'test', reason: null };
  sent = [];
  audit.events.length = 0;
  await rm(idpDownFile, { force: true });
  // A fresh hour for the rate limit of every address.
  clock.advance(2 * 3_600_000);
});

const signIn = () =>
  new OidcSignIn({
    userPoolId: POOL,
    clientId: CLIENT_ID,
    clientSecret: provider.clientSecret,
    redirectUri: REDIRECT,
    discoveryUrl: provider.discoveryUrl,
  });

/** A browser at the provider: starts a sign-in and posts forms, following redirects until they leave the provider. */
class Browser {
  readonly jar = new CookieJar();
  readonly client = signIn();
  base = '';
  pending!: Awaited<ReturnType<OidcSignIn['begin']>>['pending'];
  callback: URL | null = null;

  async open(): Promise<{ status: number; html: string }> {
    const { redirectTo, pending } = await this.client.begin('/mail');
    this.pending = pending;
    const answer = await this.go(new URL(redirectTo));
    this.base = /action="(\/interaction\/[^"/]+)/.exec(answer.html)?.[1] ?? /href="(\/interaction\/[^"/]+)\//.exec(answer.html)![1]!;
    return answer;
  }

  post(path: string, form: Record<string, string>): Promise<{ status: number; html: string }> {
    return this.go(new URL(`${this.base}${path}`, provider.url), new URLSearchParams(form));
  }

  get(path: string): Promise<{ status: number; html: string }> {
    return this.go(new URL(`${this.base}${path}`, provider.url));
  }

  /** Who the tokens say signed in, through the real client's checks. */
  identity() {
    if (!this.callback) throw new Error('not signed in');
    return this.client.complete(this.callback, this.pending);
  }

  private async go(start: URL, form?: URLSearchParams): Promise<{ status: number; html: string }> {
    const answer = await browseProvider(provider.url, start, this.jar, form);
    if (!answer.left) return answer;
    this.callback = answer.left;
    return { status: 303, html: '' };
  }
}

const ON_ITS_WAY = 'If this address may sign in, a code is on its way.';
const codeIn = (message: SmsMessage | undefined) => /\b(\d{6})\b/.exec(message?.text ?? '')?.[1] ?? '';

describe('sign-in with a code by text message', () => {
  it('sends a 6-digit code to the directory number and signs alice in as her directory user (a native account)', async () => {
    // Prepare
    const browser = new Browser();
    await browser.open();
    // Act
    const asked = await browser.post('/code', { email: `Alice@${DOMAIN}` });
    const code = codeIn(sent[0]);
    const verified = await browser.post('/code/verify', { email: `alice@${DOMAIN}`, code });
    const identity = await browser.identity();
    // Assess
    expect(asked.status).toBe(200);
    expect(asked.html).toContain(ON_ITS_WAY);
    expect(sent).toEqual([{ to: '+4915550000001', text: expect.stringContaining(code), purpose: 'sign-in-code' }]);
    expect(code).toMatch(/^\d{6}$/);
    expect(verified.status).toBe(303);
    const alice = await store.userForAddress(`alice@${DOMAIN}`);
    expect(identity).toMatchObject({
      email: `alice@${DOMAIN}`,
      name: 'Alice Example',
      groups: [],
      directoryId: alice!.id,
      nativeAccount: true,
    });
    expect(audit.events.map((event) => [event.action, event.outcome, event.details.step])).toEqual([
      ['signin.code', 'ok', 'code-sent'],
      ['signin.code', 'ok', 'signed-in'],
    ]);
  });

  it('answers unknown, disabled and number-less addresses alike, sends nothing, and audits each reason', async () => {
    // Prepare
    const browser = new Browser();
    await browser.open();
    const addresses = [`nobody@${DOMAIN}`, `carol@${DOMAIN}`, `dave@${DOMAIN}`];
    // Act
    const answers = [];
    for (const email of addresses) answers.push(await browser.post('/code', { email }));
    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.html).toContain(ON_ITS_WAY);
    }
    expect(answers[0]!.html.replace(/nobody/g, 'x')).toBe(answers[1]!.html.replace(/carol/g, 'x'));
    expect(sent).toEqual([]);
    expect(audit.events.map((event) => [event.actor, event.action, event.outcome, event.details.reason])).toEqual([
      [`nobody@${DOMAIN}`, 'signin.code.denied', 'denied', 'unknown-user'],
      [`carol@${DOMAIN}`, 'signin.code.denied', 'denied', 'disabled'],
      [`dave@${DOMAIN}`, 'signin.code.denied', 'denied', 'no-mobile'],
    ]);
  });

  it('says plainly that codes are for outages while the flag is off, and sends none', async () => {
    // Prepare
    flag = { ...flag, on: false };
    const browser = new Browser();
    await browser.open();
    // Act
    const answer = await browser.post('/code', { email: `alice@${DOMAIN}` });
    // Assess
    expect(answer.status).toBe(403);
    expect(answer.html).toContain('Sign-in by code is available only during an outage.');
    expect(sent).toEqual([]);
    expect(audit.events[0]).toMatchObject({ action: 'signin.code.denied', details: { reason: 'failover-off' } });
  });

  it('refuses a code that has expired', async () => {
    // Prepare
    const browser = new Browser();
    await browser.open();
    await browser.post('/code', { email: `alice@${DOMAIN}` });
    clock.advance(CODE_VALIDITY_MS);
    // Act
    const answer = await browser.post('/code/verify', { email: `alice@${DOMAIN}`, code: codeIn(sent[0]) });
    // Assess
    expect(answer.status).toBe(401);
    expect(answer.html).toContain('The code is wrong or no longer valid.');
    expect(browser.callback).toBeNull();
    expect(audit.events.at(-1)).toMatchObject({ action: 'signin.code.denied', details: { step: 'verify', reason: 'expired' } });
  });

  it('kills the code after three wrong ones: the right one no longer works', async () => {
    // Prepare
    const browser = new Browser();
    await browser.open();
    await browser.post('/code', { email: `alice@${DOMAIN}` });
    const right = codeIn(sent[0]);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    // Act
    const tries = [];
    for (let i = 0; i < 3; i += 1) tries.push(await browser.post('/code/verify', { email: `alice@${DOMAIN}`, code: wrong }));
    const late = await browser.post('/code/verify', { email: `alice@${DOMAIN}`, code: right });
    // Assess
    expect(tries.map((answer) => answer.status)).toEqual([401, 401, 401]);
    expect(late.status).toBe(401);
    expect(browser.callback).toBeNull();
    expect(audit.events.slice(1).map((event) => event.details.reason)).toEqual(['wrong', 'wrong', 'too-many-wrong', 'no-code']);
  });

  it('takes a code once, and only in the sign-in that asked for it', async () => {
    // Prepare
    const first = new Browser();
    await first.open();
    await first.post('/code', { email: `alice@${DOMAIN}` });
    const code = codeIn(sent[0]);
    const other = new Browser();
    await other.open();
    // Act
    const elsewhere = await other.post('/code/verify', { email: `alice@${DOMAIN}`, code });
    const used = await first.post('/code/verify', { email: `alice@${DOMAIN}`, code });
    const again = new Browser();
    await again.open();
    const reused = await again.post('/code/verify', { email: `alice@${DOMAIN}`, code });
    // Assess
    expect(elsewhere.status).toBe(401);
    expect(used.status).toBe(303);
    expect(reused.status).toBe(401);
  });

  it('sends at most one code per address every 30 s and five an hour, for any address', async () => {
    // Prepare
    const browser = new Browser();
    await browser.open();
    // Act
    const first = await browser.post('/code', { email: `bob@${DOMAIN}` });
    const tooSoon = await browser.post('/code', { email: `bob@${DOMAIN}` });
    const unknownFirst = await browser.post('/code', { email: `nobody@${DOMAIN}` });
    const unknownTooSoon = await browser.post('/code', { email: `nobody@${DOMAIN}` });
    for (let i = 1; i < CODES_PER_HOUR; i += 1) {
      clock.advance(CODE_INTERVAL_MS);
      await browser.post('/code', { email: `bob@${DOMAIN}` });
    }
    clock.advance(CODE_INTERVAL_MS);
    const sixth = await browser.post('/code', { email: `bob@${DOMAIN}` });
    // Assess
    expect([first.status, tooSoon.status, unknownFirst.status, unknownTooSoon.status, sixth.status]).toEqual([200, 429, 200, 429, 429]);
    expect(tooSoon.html).toContain('Too many codes were asked for this address.');
    expect(sent).toHaveLength(CODES_PER_HOUR);
  });
});

describe('administrator sign-in (password + TOTP)', () => {
  const totpNow = (uri: string, offsetSteps = 0) => parseTotp(uri).generate({ timestamp: clock.now().getTime() + offsetSteps * 30_000 });

  it('signs an enrolled admin in with both factors, also while the flag is off and AD FS is down; the token carries the admin group and no identities', async () => {
    // Prepare
    flag = { ...flag, on: false };
    await writeFile(idpDownFile, '{}\n');
    const enrolled = await admins.enroll('Ops-Admin@Private.Test');
    const browser = new Browser();
    await browser.open();
    // Act
    const answer = await browser.post('/admin', {
      username: 'ops-admin@private.test',
      password: enrolled.password,
      code: totpNow(enrolled.otpauthUri),
    });
    const identity = await browser.identity();
    // Assess
    expect(answer.status).toBe(303);
    expect(identity).toMatchObject({ email: 'ops-admin@private.test', groups: [DEMO_ADMIN_GROUP], nativeAccount: true });
    expect(identity.directoryId).toBeUndefined();
    expect(audit.events.map((event) => [event.action, event.actor])).toEqual([['signin.admin', 'ops-admin@private.test']]);
  });

  it('refuses a missing or wrong factor, and a TOTP code used before', async () => {
    // Prepare
    const enrolled = await admins.enroll('second-admin@private.test');
    const code = totpNow(enrolled.otpauthUri);
    const attempt = async (form: Record<string, string>) => {
      const browser = new Browser();
      await browser.open();
      return (await browser.post('/admin', { username: 'second-admin@private.test', ...form })).status;
    };
    // Act
    const noCode = await attempt({ password: enrolled.password, code: '' });
    const wrongPassword = await attempt({ password: 'guess', code });
    const staleCode = await attempt({ password: enrolled.password, code: totpNow(enrolled.otpauthUri, -3) });
    const good = await attempt({ password: enrolled.password, code });
    const replay = await attempt({ password: enrolled.password, code });
    const olderStep = await attempt({ password: enrolled.password, code: totpNow(enrolled.otpauthUri, -1) });
    // Assess
    expect({ noCode, wrongPassword, staleCode, good, replay, olderStep }).toEqual({
      noCode: 401,
      wrongPassword: 401,
      staleCode: 401,
      good: 303,
      replay: 401,
      olderStep: 401,
    });
  });

  it(`locks an account after ${MAX_FAILED_ADMIN_SIGN_INS} failures, even for the right factors`, async () => {
    // Prepare
    const enrolled = await admins.enroll('third-admin@private.test');
    const browser = new Browser();
    await browser.open();
    for (let i = 0; i < MAX_FAILED_ADMIN_SIGN_INS; i += 1)
      await browser.post('/admin', { username: 'third-admin@private.test', password: 'guess', code: '000000' });
    // Act
    const locked = await browser.post('/admin', {
      username: 'third-admin@private.test',
      password: enrolled.password,
      code: totpNow(enrolled.otpauthUri),
    });
    // Assess
    expect(locked.status).toBe(401);
    expect(locked.html).toContain('Too many failed attempts.');
  });
});

describe('the company sign-in (AD FS stand-in) and idp down', () => {
  it('issues federated-looking tokens (an identities claim) on the password path', async () => {
    // Prepare
    const browser = new Browser();
    await browser.open();
    // Act
    await browser.post('', { email: `bob@${DOMAIN}`, password: 'bob' });
    const identity = await browser.identity();
    // Assess
    expect(identity.email).toBe(`bob@${DOMAIN}`);
    expect(identity.nativeAccount).toBeUndefined();
  });

  it('takes the password form away while the marker file exists, and refuses a post to it; back at once when removed', async () => {
    // Prepare
    await writeFile(idpDownFile, '{}\n');
    const browser = new Browser();
    // Act
    const page = await browser.open();
    const refused = await browser.post('', { email: `bob@${DOMAIN}`, password: 'bob' });
    await rm(idpDownFile);
    const back = await browser.get('');
    // Assess
    expect(page.html).toContain('Your company sign-in is unavailable');
    expect(page.html).not.toContain('type="password"');
    expect(page.html).toContain('Sign in with a code by text message');
    expect(page.html).toContain('Administrator sign-in');
    expect(refused.status).toBe(503);
    expect(browser.callback).toBeNull();
    expect(back.html).toContain('type="password"');
  });
});

function parseTotp(uri: string): TOTP {
  const url = new URL(uri);
  return new TOTP({ secret: url.searchParams.get('secret')!, digits: 6, period: 30, algorithm: 'SHA1' });
}
