// A member of staff on the day of the outage, in real Chromium (Debian's, through
// playwright-core as in test/system/scenarios/browser): opens the webmail as soon as Outlook fails (it
// says "normal operation" until the admin declares the outage, and the webmail's flag
// cache keeps saying so for up to its cache time), reloads until it offers sign-in,
// signs in through the local provider — with AD FS down too, by the break-glass path: a
// code by text message, read from local mode's SMS outbox — reloads the inbox until mail received during
// the outage is there (the RTO), reads a colleague's message, replies and forwards.
// shadowmail may be SIGKILLed under any step: a step that fails is started again from
// its page, as a user would reload, and counted.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readOutbox } from '../../lambdas/adapters/local/file-outbox.ts';
import type { SmsMessage } from '../../lambdas/ports/sms-sender.ts';
import { COLLEAGUE_NAME, sleep } from './mail-stream.ts';

export interface WebmailSend {
  kind: 'reply' | 'forward';
  /** The drill's phase when the webmail answered, and when the user opened the message to answer it. */
  phase: string;
  startedInPhase: string;
  atSeconds: number;
  seconds: number;
  /** sent; refused for now (503, 409: try again); error: refused as it is (400). */
  outcome: 'sent' | 'refused' | 'error';
  detail: string;
}

export interface WebmailUserReport {
  user: string;
  /** Seconds after `failover on` (as issued) at which each milestone was reached; null if never. */
  signInOfferedAfter: number | null;
  signedInAfter: number | null;
  /** How the user signed in: the company sign-in (AD FS up) or an SMS code (AD FS down). */
  signedInBy: 'password' | 'sms-code' | null;
  /** Codes asked for (a restart voids an open code: the user asks again). */
  codesRequested: number;
  /** The RTO for this user: the inbox showed mail received during the outage. */
  inboxWithOutageMailAfter: number | null;
  readAfter: number | null;
  openedSubject: string | null;
  /** The message body (in its sandboxed frame) showed the drill text. */
  bodyShown: boolean;
  sends: WebmailSend[];
  /** Steps started again after a failure (shadowmail killed under them, mostly). */
  stepRetries: number;
  errors: string[];
}

export interface WebmailUserOptions {
  browser: Browser;
  base: string;
  user: 'alice' | 'bob' | 'admin';
  domain: string;
  /**
   * AD FS is down with Exchange: sign in with a code by text message, read from this SMS
   * outbox (local mode's stand-in for SNS) as it arrives on the user's `mobile`.
   * Absent: the company sign-in (the demo password).
   */
  smsCode?: { outbox: string; mobile: string };
  /** Text in the subject of mail received during the outage. */
  outageMarker: string;
  /** When `failover on` was issued (ms since the epoch); the user may start looking before. */
  failoverOnAtMs: () => number | null;
  /** Seconds since the drill started, and its phase, for the record. */
  clock: () => number;
  phase: () => string;
  log: (line: string) => void;
}

export class WebmailUser {
  readonly report: WebmailUserReport;
  private context: BrowserContext | null = null;
  private page: Page | null = null;
  private messagePath: string | null = null;

  constructor(private readonly options: WebmailUserOptions) {
    this.report = {
      user: options.user,
      signInOfferedAfter: null,
      signedInAfter: null,
      signedInBy: null,
      codesRequested: 0,
      inboxWithOutageMailAfter: null,
      readAfter: null,
      openedSubject: null,
      bodyShown: false,
      sends: [],
      stepRetries: 0,
      errors: [],
    };
  }

  private since(): number | null {
    const on = this.options.failoverOnAtMs();
    return on === null ? null : Math.round((Date.now() - on) / 10) / 100;
  }

  private async p(): Promise<Page> {
    if (!this.page) {
      this.context = await this.options.browser.newContext({ locale: 'en-GB' });
      this.page = await this.context.newPage();
      this.page.setDefaultTimeout(15_000);
    }
    return this.page;
  }

  /** Runs `body` until it succeeds or `deadlineMs` passes; each failure counts as a retry. */
  private async step<T>(name: string, deadlineMs: number, body: (page: Page) => Promise<T | undefined>): Promise<T | null> {
    for (;;) {
      try {
        const value = await body(await this.p());
        if (value !== undefined) return value;
      } catch (error) {
        this.report.stepRetries += 1;
        const line = `${name}: ${(error as Error).message.split('\n')[0]}`;
        if (this.report.errors.length < 20) this.report.errors.push(`${this.options.clock()} s ${line}`);
      }
      if (Date.now() > deadlineMs) {
        this.report.errors.push(`${name}: gave up`);
        return null;
      }
      await sleep(1_000);
    }
  }

  /** Sign-in offered → signed in → inbox with outage mail → message read. Returns false if a step gave up. */
  async signInAndRead(deadlineMs: number): Promise<boolean> {
    const { base, user, domain, outageMarker } = this.options;
    const offered = await this.step('wait for sign-in', deadlineMs, async (page) => {
      await page.goto(`${base}/`);
      return (await page.locator('a[href="/auth/login"]').count()) > 0 ? true : undefined;
    });
    if (!offered) return false;
    this.report.signInOfferedAfter = this.since();

    const signedIn = await this.step('sign in', deadlineMs, async (page) => {
      // an earlier try may have got the session before shadowmail was killed under it
      await page.goto(`${base}/mail`);
      if (page.url() === `${base}/mail`) return true;
      await page.goto(`${base}/`);
      await page.locator('a[href="/auth/login"]').click();
      if (this.options.smsCode) {
        await this.signInWithCode(page, this.options.smsCode);
      } else {
        await page.locator('#email').fill(`${user}@${domain}`);
        await page.locator('#password').fill(user);
        await page.locator('button[type=submit]').click();
      }
      await page.waitForURL(`${base}/mail`);
      return true;
    });
    if (!signedIn) return false;
    this.report.signedInAfter = this.since();
    this.report.signedInBy = this.options.smsCode ? 'sms-code' : 'password';
    this.options.log(`${user} signed in ${this.report.signedInAfter} s after failover on`);

    const link = await this.step('inbox with outage mail', deadlineMs, async (page) => {
      await page.goto(`${base}/mail`);
      if (!page.url().startsWith(`${base}/mail`)) throw new Error(`landed on ${page.url()}`);
      const outage = page.locator('ul.message-list a', { hasText: outageMarker }).first();
      if ((await outage.count()) === 0) return undefined;
      return (await outage.getAttribute('href')) ?? undefined;
    });
    if (!link) return false;
    this.report.inboxWithOutageMailAfter = this.since();
    this.options.log(`${user} sees outage mail in the inbox ${this.report.inboxWithOutageMailAfter} s after failover on`);

    // to answer through the primary, the user reads (and answers) mail from a colleague
    const read = await this.step('read mail from a colleague', deadlineMs, async (page) => {
      await page.goto(`${base}/mail`);
      const fromColleague = page.locator('ul.message-list a', { hasText: outageMarker }).filter({ hasText: COLLEAGUE_NAME }).first();
      if ((await fromColleague.count()) === 0) return undefined;
      const href = (await fromColleague.getAttribute('href'))!;
      const subject = (await fromColleague.locator('.subject').innerText()).trim();
      await page.goto(`${base}${href}`);
      await page.waitForLoadState('load');
      const frame = page.frames().find((candidate) => candidate.url().endsWith(`${href}/body`));
      if (!frame) throw new Error('no message frame');
      const text = await frame.locator('body').innerText();
      return text.includes('Drill message') ? { href, subject } : undefined;
    });
    if (!read) return false;
    this.messagePath = read.href;
    this.report.openedSubject = read.subject;
    this.report.readAfter = this.since();
    this.report.bodyShown = true;
    return true;
  }

  /** The break-glass path as staff see it: work address, the code from the phone, signed in. */
  private async signInWithCode(page: Page, sms: { outbox: string; mobile: string }): Promise<void> {
    const { user, domain } = this.options;
    const before = (await readOutbox<SmsMessage>(sms.outbox)).length;
    await page.getByRole('link', { name: 'Sign in with a code by text message' }).click();
    await page.getByLabel('Work e-mail address').fill(`${user}@${domain}`);
    await page.getByRole('button', { name: 'Send code' }).click();
    this.report.codesRequested += 1;
    let code: string | undefined;
    for (let tries = 0; tries < 40 && code === undefined; tries += 1) {
      const fresh = (await readOutbox<SmsMessage>(sms.outbox)).slice(before);
      const text = fresh.filter((entry) => entry.message.to === sms.mobile && entry.message.purpose === 'sign-in-code').at(-1)
        ?.message.text;
      code = text ? /\b(\d{6})\b/.exec(text)?.[1] : undefined;
      if (code === undefined) await sleep(250);
    }
    // No code: refused (rate limit after a restart, flag not yet seen on) — the step starts again.
    if (code === undefined) throw new Error(`no code arrived: ${(await page.locator('main').innerText()).slice(0, 160)}`);
    await page.getByLabel('Code from the text message').fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Replies to the opened message (to the colleague who sent it). */
  reply(deadlineMs: number): Promise<WebmailSend | null> {
    return this.send('reply', deadlineMs, async (page) => {
      await page.getByRole('link', { name: 'Reply', exact: true }).click();
      await page.getByLabel('Message').press('Control+Home');
      await page.getByLabel('Message').pressSequentially(`Reply from ${this.options.user} during the drill.`);
    });
  }

  /** Forwards the opened message to a colleague. */
  forward(to: string, deadlineMs: number): Promise<WebmailSend | null> {
    return this.send('forward', deadlineMs, async (page) => {
      await page.getByRole('link', { name: 'Forward' }).click();
      await page.getByLabel('To', { exact: true }).fill(to);
    });
  }

  /**
   * One send through the compose form. An answer of the webmail is recorded and returned:
   * sent (303 to Sent), refused for now (503 "try again in a moment", 409 busy) or
   * refused as it is (400, e.g. the primary's 5xx). A request that gets no answer (the
   * process killed under it) is tried again.
   */
  private async send(kind: WebmailSend['kind'], deadlineMs: number, compose: (page: Page) => Promise<void>): Promise<WebmailSend | null> {
    const { base } = this.options;
    const path = this.messagePath;
    if (!path) return null;
    return this.step(kind, deadlineMs, async (page) => {
      const startedAt = Date.now();
      const atSeconds = this.options.clock();
      const startedInPhase = this.options.phase();
      await page.goto(`${base}${path}`);
      await compose(page);
      const isSend = (request: { method(): string; url(): string }) => request.method() === 'POST' && request.url().endsWith('/mail/send');
      const response = page.waitForResponse((r) => isSend(r.request()), { timeout: 120_000 }).then((r) => r.status());
      const failed = page.waitForEvent('requestfailed', { predicate: isSend, timeout: 120_000 }).then((request): number => {
        throw new Error(`the send got no answer: ${request.failure()?.errorText ?? 'failed'}`);
      });
      // the loser of the race ends in a timeout later, and a failed click leaves the race
      // unawaited: neither is an unhandled error (the await below still throws)
      response.catch(() => undefined);
      failed.catch(() => undefined);
      const answered = Promise.race([response, failed]);
      answered.catch(() => undefined);
      await page.getByRole('button', { name: 'Send' }).click();
      const status = await answered;
      await page.waitForLoadState('load');
      const seconds = Math.round((Date.now() - startedAt) / 10) / 100;
      const phase = this.options.phase();
      const alert = async () =>
        (
          await page
            .locator('[role=alert]')
            .first()
            .innerText()
            .catch(() => '')
        )
          .replace(/\s+/g, ' ')
          .trim();
      let result: WebmailSend;
      if (status === 303 && /\/mail\/sent\?done=(sent|already-sent|sent-no-copy)/.test(page.url())) {
        result = { kind, phase, startedInPhase, atSeconds, seconds, outcome: 'sent', detail: `HTTP 303 → ${new URL(page.url()).search}` };
      } else if (status === 503 || status === 409) {
        result = { kind, phase, startedInPhase, atSeconds, seconds, outcome: 'refused', detail: `HTTP ${status}: ${await alert()}` };
      } else if (status === 400) {
        result = { kind, phase, startedInPhase, atSeconds, seconds, outcome: 'error', detail: `HTTP 400: ${await alert()}` };
      } else {
        throw new Error(`send answered HTTP ${status} at ${page.url()}`);
      }
      this.report.sends.push(result);
      this.options.log(`${this.options.user} ${kind}: ${result.outcome} (${result.detail.slice(0, 120)})`);
      return result;
    });
  }

  async close(): Promise<void> {
    await this.context?.close().catch(() => undefined);
  }
}
