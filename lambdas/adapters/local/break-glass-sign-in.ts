// The local provider's break-glass paths, Cognito's native users in AWS:
// - staff: work address → the rule of core/break-glass.ts (flag on, enabled personal
//   account with a mobile number) → a code to the SMS port → code → signed in as that
//   directory user;
// - named admins: password + TOTP (break-glass-admin-store.ts), offered always — also
//   with the flag off, since admins must be able to switch it on.
// Answers never tell whether an address exists: unknown, disabled and number-less
// addresses get the same "a code is on its way" as a real one; only "the flag is off"
// is said plainly (the status page says it anyway). Every request and sign-in is audited.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Account } from 'oidc-provider';
import { DIRECTORY_ID_CLAIM } from '../../contract/sign-in.ts';
import { hasAddressShape, normalizeAddress } from '../../core/addresses.ts';
import { recordAudit } from '../../core/audit.ts';
import { decideCodeSignIn } from '../../core/break-glass.ts';
import { canSignIn } from '../../core/directory.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { Clock } from '../../ports/clock.ts';
import type { DirectoryLookup } from '../../ports/directory.ts';
import type { FailoverFlag } from '../../ports/failover-flag.ts';
import type { SmsSender } from '../../ports/sms-sender.ts';
import type { BreakGlassAdminStore } from './break-glass-admin-store.ts';
import { ADMIN_LOCKOUT_MS } from './break-glass-admin-store.ts';
import { CODE_VALIDITY_MS, type SignInCodes } from './sign-in-codes.ts';
import { escapeHtml, page, readBody, sendHtml } from './sign-in-page.ts';

const CODE_ACCOUNT = 'code:';
const ADMIN_ACCOUNT = 'admin:';

export interface BreakGlassDeps {
  /** The failover flag, read fresh on each request (the local flag file). */
  flag: Pick<FailoverFlag, 'read'>;
  directory: Pick<DirectoryLookup, 'userForAddress'>;
  sms: SmsSender;
  codes: SignInCodes;
  admins: BreakGlassAdminStore;
  /** The group the admins' tokens carry (cognito:groups), so the console opens. */
  adminGroup: string;
  audit: AuditLog;
  clock: Clock;
}

export interface BreakGlassPaths {
  findAccount(accountId: string): Promise<Account | undefined>;
  handle(request: BreakGlassRequest): Promise<void>;
}

export interface BreakGlassRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The provider's interaction: a code works only in the sign-in that asked for it. */
  uid: string;
  /** `/interaction/<uid>`. */
  base: string;
  /** The path after base: /code, /code/verify, /admin. */
  sub: string;
  german: boolean;
  finish(accountId: string): Promise<void>;
}

export function isBreakGlassAccount(accountId: string): boolean {
  return accountId.startsWith(CODE_ACCOUNT) || accountId.startsWith(ADMIN_ACCOUNT);
}

export function breakGlassPaths(deps: BreakGlassDeps): BreakGlassPaths {
  return {
    findAccount: (accountId) => findAccount(deps, accountId),
    handle: (request) => handle(deps, request),
  };
}

/** Cognito's sub is a UUID per pool user; a native user is another user than the federated one. */
function stableSubject(kind: string, id: string): string {
  const hex = createHash('sha256').update(`${kind}:${id}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function findAccount(deps: BreakGlassDeps, accountId: string): Promise<Account | undefined> {
  if (accountId.startsWith(CODE_ACCOUNT)) {
    // Asked again when the token is issued: a user disabled in between gets none.
    const user = await deps.directory.userForAddress(accountId.slice(CODE_ACCOUNT.length));
    if (!user || !canSignIn(user)) return undefined;
    return {
      accountId,
      claims: async (use) => ({
        sub: stableSubject('code', user.id),
        ...(use === 'id_token' && { token_use: 'id' }),
        'cognito:username': user.mailbox,
        // The webmail's directory check decides who is an admin.
        'cognito:groups': [],
        email: user.mailbox,
        email_verified: true,
        name: user.displayName,
        [DIRECTORY_ID_CLAIM]: user.id,
      }),
    };
  }
  if (accountId.startsWith(ADMIN_ACCOUNT)) {
    const username = accountId.slice(ADMIN_ACCOUNT.length);
    if (!(await deps.admins.list()).includes(username)) return undefined;
    return {
      accountId,
      claims: async (use) => ({
        sub: stableSubject('admin', username),
        ...(use === 'id_token' && { token_use: 'id' }),
        'cognito:username': username,
        'cognito:groups': [deps.adminGroup],
        email: username,
        email_verified: true,
        name: username,
      }),
    };
  }
  return undefined;
}

async function handle(deps: BreakGlassDeps, request: BreakGlassRequest): Promise<void> {
  const { req, res, sub } = request;
  const text = request.german ? DE : EN;
  const render = (status: number, title: string, body: string) =>
    sendHtml(
      res,
      status,
      page(title, `<h1>${escapeHtml(title)}</h1>\n${body}\n${backLink(request.base, text)}`, request.german ? 'de' : 'en'),
    );
  if (req.method === 'GET' && sub === '/code') return render(200, text.codeTitle, addressForm(request.base, text, ''));
  if (req.method === 'GET' && sub === '/admin') return render(200, text.adminTitle, adminForm(request.base, text, '', false));
  if (req.method !== 'POST' || !['/code', '/code/verify', '/admin'].includes(sub)) return render(404, text.notFound, '');
  const form = new URLSearchParams(await readBody(req, 16 * 1024));
  if (sub === '/admin') return adminSignIn(deps, request, form, render, text);
  const address = normalizeAddress(form.get('email') ?? '');
  if (!hasAddressShape(address) || address.length > 254) {
    return render(400, text.codeTitle, `${alert(text.badAddress)}${addressForm(request.base, text, '')}`);
  }
  const audit = (action: 'signin.code' | 'signin.code.denied', details: Record<string, string>) =>
    recordAudit(deps.audit, deps.clock, { actor: address, action, target: address, details }, action === 'signin.code' ? 'ok' : 'denied');
  if (sub === '/code') {
    // Counted before anything is looked up, the same for every address: the limit tells nothing.
    const admitted = deps.codes.admit(address);
    if (!admitted.ok) {
      await audit('signin.code.denied', { step: 'request', reason: 'rate-limited' });
      res.setHeader('retry-after', String(admitted.retryAfterSeconds));
      return render(429, text.codeTitle, alert(text.rateLimited(admitted.retryAfterSeconds)));
    }
    const decision = await decideCodeSignIn(address, deps);
    if (!decision.allowed) {
      await audit('signin.code.denied', { step: 'request', reason: decision.reason });
      if (decision.reason === 'failover-off') return render(403, text.codeTitle, alert(text.outageOnly));
    } else {
      const code = deps.codes.issue(address, request.uid);
      await deps.sms.send({ to: decision.user.mobile, text: text.sms(code), purpose: 'sign-in-code' });
      await audit('signin.code', { step: 'code-sent', mailbox: decision.user.mailbox });
    }
    return render(200, text.codeTitle, `<p role="status">${escapeHtml(text.onItsWay)}</p>${codeForm(request.base, text, address, false)}`);
  }
  // /code/verify
  const checked = deps.codes.check(address, request.uid, form.get('code') ?? '');
  if (!checked.ok) {
    await audit('signin.code.denied', { step: 'verify', reason: checked.reason });
    const retry =
      checked.reason === 'wrong'
        ? codeForm(request.base, text, address, true)
        : `<p><a href="${request.base}/code">${escapeHtml(text.newCode)}</a></p>`;
    return render(401, text.codeTitle, `${alert(text.codeRefused)}${retry}`);
  }
  // The rule again: the flag may have gone off, the user may have been disabled since the code was sent.
  const decision = await decideCodeSignIn(address, deps);
  if (!decision.allowed) {
    await audit('signin.code.denied', { step: 'verify', reason: decision.reason });
    return render(403, text.codeTitle, alert(decision.reason === 'failover-off' ? text.outageOnly : text.codeRefused));
  }
  await audit('signin.code', { step: 'signed-in', mailbox: decision.user.mailbox });
  await request.finish(`${CODE_ACCOUNT}${decision.user.mailbox}`);
}

async function adminSignIn(
  deps: BreakGlassDeps,
  request: BreakGlassRequest,
  form: URLSearchParams,
  render: (status: number, title: string, body: string) => void,
  text: typeof EN,
): Promise<void> {
  const username = normalizeAddress(form.get('username') ?? '').slice(0, 254);
  const result = await deps.admins.authenticate(username, form.get('password') ?? '', form.get('code') ?? '');
  if (!result.ok) {
    await recordAudit(
      deps.audit,
      deps.clock,
      { actor: username || 'unknown', action: 'signin.admin.denied', target: username || null, details: { reason: result.reason } },
      'denied',
    );
    return render(
      401,
      text.adminTitle,
      `${alert(result.reason === 'locked' ? text.locked : text.adminRefused)}${adminForm(request.base, text, username, true)}`,
    );
  }
  await recordAudit(deps.audit, deps.clock, { actor: result.username, action: 'signin.admin', target: result.username, details: {} });
  await request.finish(`${ADMIN_ACCOUNT}${result.username}`);
}

function alert(message: string): string {
  return `<p class="error" role="alert" id="error">${escapeHtml(message)}</p>`;
}

function backLink(base: string, text: typeof EN): string {
  return `<p><a href="${base}">${escapeHtml(text.back)}</a></p>`;
}

function addressForm(base: string, text: typeof EN, address: string): string {
  return `<p>${escapeHtml(text.codeIntro)}</p>
<form method="post" action="${base}/code">
  <label for="code-email">${escapeHtml(text.workAddress)}</label>
  <input id="code-email" name="email" type="email" autocomplete="username" required value="${escapeHtml(address)}">
  <button type="submit">${escapeHtml(text.sendCode)}</button>
</form>`;
}

function codeForm(base: string, text: typeof EN, address: string, failed: boolean): string {
  const describedBy = failed ? ' aria-describedby="error" aria-invalid="true"' : '';
  return `<form method="post" action="${base}/code/verify">
  <input type="hidden" name="email" value="${escapeHtml(address)}">
  <label for="code">${escapeHtml(text.codeLabel)}</label>
  <input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required${describedBy}>
  <button type="submit">${escapeHtml(text.submit)}</button>
</form>`;
}

function adminForm(base: string, text: typeof EN, username: string, failed: boolean): string {
  const describedBy = failed ? ' aria-describedby="error" aria-invalid="true"' : '';
  return `<p>${escapeHtml(text.adminIntro)}</p>
<form method="post" action="${base}/admin" autocomplete="on">
  <label for="admin-username">${escapeHtml(text.username)}</label>
  <input id="admin-username" name="username" type="email" autocomplete="username" required value="${escapeHtml(username)}"${describedBy}>
  <label for="admin-password">${escapeHtml(text.password)}</label>
  <input id="admin-password" name="password" type="password" autocomplete="current-password" required${describedBy}>
  <label for="admin-code">${escapeHtml(text.totp)}</label>
  <input id="admin-code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required${describedBy}>
  <button type="submit">${escapeHtml(text.submit)}</button>
</form>`;
}

const MINUTES = CODE_VALIDITY_MS / 60_000;
const LOCKOUT_MINUTES = ADMIN_LOCKOUT_MS / 60_000;

const EN = {
  codeTitle: 'Sign in with a code by text message',
  codeIntro: 'Enter your work e-mail address. If it may sign in, a code goes to the mobile number your company has on file.',
  workAddress: 'Work e-mail address',
  sendCode: 'Send code',
  badAddress: 'Enter your work e-mail address, such as name@example.com.',
  onItsWay: `If this address may sign in, a code is on its way. It is valid for ${MINUTES} minutes.`,
  outageOnly: 'Sign-in by code is available only during an outage.',
  rateLimited: (seconds: number) => `Too many codes were asked for this address. Try again in ${seconds} seconds.`,
  codeLabel: 'Code from the text message',
  codeRefused: 'The code is wrong or no longer valid.',
  newCode: 'Ask for a new code',
  sms: (code: string) => `${code} is your shadowmail sign-in code. It is valid for ${MINUTES} minutes. Nobody will ask you for it.`,
  adminTitle: 'Administrator sign-in',
  adminIntro: 'For the named administrator accounts: password and the code from your authenticator app.',
  username: 'Administrator account',
  password: 'Password',
  totp: 'Code from the authenticator app',
  adminRefused: 'Account, password or code is wrong.',
  locked: `Too many failed attempts. Try again in ${LOCKOUT_MINUTES} minutes.`,
  submit: 'Sign in',
  back: 'Back to all ways of signing in',
  notFound: 'Not found',
};
const DE: typeof EN = {
  codeTitle: 'Mit einem Code per SMS anmelden',
  codeIntro:
    'Geben Sie Ihre dienstliche E-Mail-Adresse ein. Darf sie sich anmelden, geht ein Code an die Mobilnummer, die Ihr Unternehmen kennt.',
  workAddress: 'Dienstliche E-Mail-Adresse',
  sendCode: 'Code senden',
  badAddress: 'Geben Sie Ihre dienstliche E-Mail-Adresse ein, etwa name@example.com.',
  onItsWay: `Wenn sich diese Adresse anmelden darf, ist ein Code unterwegs. Er gilt ${MINUTES} Minuten.`,
  outageOnly: 'Die Anmeldung per Code ist nur während eines Ausfalls möglich.',
  rateLimited: (seconds: number) => `Für diese Adresse wurden zu viele Codes angefordert. Versuchen Sie es in ${seconds} Sekunden wieder.`,
  codeLabel: 'Code aus der SMS',
  codeRefused: 'Der Code ist falsch oder nicht mehr gültig.',
  newCode: 'Neuen Code anfordern',
  sms: (code: string) => `${code} ist Ihr Anmeldecode für shadowmail. Er gilt ${MINUTES} Minuten. Niemand wird Sie danach fragen.`,
  adminTitle: 'Anmeldung für Administratoren',
  adminIntro: 'Für die benannten Administratorkonten: Passwort und der Code aus Ihrer Authenticator-App.',
  username: 'Administratorkonto',
  password: 'Passwort',
  totp: 'Code aus der Authenticator-App',
  adminRefused: 'Konto, Passwort oder Code ist falsch.',
  locked: `Zu viele Fehlversuche. Versuchen Sie es in ${LOCKOUT_MINUTES} Minuten wieder.`,
  submit: 'Anmelden',
  back: 'Zurück zu allen Anmeldewegen',
  notFound: 'Nicht gefunden',
};
