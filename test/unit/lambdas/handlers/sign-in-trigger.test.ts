// Cognito's pre-/post-authentication trigger with memory fakes: event shapes as the Cognito
// developer guide gives them (shared trigger parameters plus request.userAttributes,
// request.userNotFound for pre authentication). Staff code sign-in follows the flag and the
// directory; a break-glass admin passes with the flag off but only with TOTP; federated
// users pass untouched; every refusal answers the same message and is audited with its
// reason; every completed native sign-in is audited; a malformed event is refused.
import { beforeEach, describe, expect, it } from 'vitest';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import { createSignInTriggerHandler, SIGN_IN_REFUSED_MESSAGE, TRIGGER_SOURCES } from '../../../../lambdas/handlers/sign-in-trigger.ts';
import { FAILOVER_OFF } from '../../../../lambdas/ports/failover-flag.ts';
import type { PoolAccount } from '../../../../lambdas/ports/sign-in-factors.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';

const POOL = 'eu-central-1_AbCdEf123';
const ADMIN = 'it-admin@corp.test';
const users: DirectoryUser[] = [
  makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test', mobile: '+4915550000001' }),
  makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', disabled: true, mobile: '+4915550000002' }),
  makeDirectoryUser({ id: '3', mailbox: 'carol@corp.test' }),
  // An admin's username that is also a directory address with a number: the admin rule still decides.
  makeDirectoryUser({ id: '4', mailbox: ADMIN, mobile: '+4915550000004' }),
];

function event(triggerSource: string, userName: string, request: Record<string, unknown> = {}) {
  return {
    version: '1',
    triggerSource,
    region: 'eu-central-1',
    userPoolId: POOL,
    userName,
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: '1example23456789' },
    request: { userAttributes: { sub: '4c1a', email: userName, 'cognito:user_status': 'CONFIRMED' }, validationData: {}, ...request },
    response: {},
  };
}
const pre = (userName: string, request?: Record<string, unknown>) => event(TRIGGER_SOURCES.preAuthentication, userName, request);
const post = (userName: string, request?: Record<string, unknown>) =>
  event(TRIGGER_SOURCES.postAuthentication, userName, { newDeviceUsed: false, clientMetadata: {}, ...request });

let flagOn: boolean;
let totp: Set<string>;
let factorCalls: PoolAccount[];
let audit: MemoryAuditLog;
let logged: Array<{ level: string; message: string; details?: Record<string, unknown> }>;
let staffCodes: boolean;
let windows: Map<string, number>;

function handler() {
  return createSignInTriggerHandler({
    flag: { read: async () => ({ ...FAILOVER_OFF, on: flagOn }) },
    directory: { userForAddress: async (address) => users.find((user) => user.mailbox === address) ?? null },
    factors: {
      hasTotp: async (account) => {
        factorCalls.push(account);
        return totp.has(account.username);
      },
    },
    setupWindows: { isOpen: async (username, now) => (windows.get(username) ?? 0) > now.getTime() },
    audit,
    clock: new ManualClock('2030-05-01T08:00:00Z'),
    admins: [ADMIN],
    staffCodes,
    logger: {
      info: (message: string, details?: Record<string, unknown>) => logged.push({ level: 'info', message, ...(details && { details }) }),
      warn: (message: string, details?: Record<string, unknown>) => logged.push({ level: 'warn', message, ...(details && { details }) }),
    } as never,
  });
}

beforeEach(() => {
  flagOn = true;
  totp = new Set([ADMIN]);
  factorCalls = [];
  audit = new MemoryAuditLog();
  logged = [];
  staffCodes = true;
  windows = new Map();
});

const entries = () => audit.events.map((e) => ({ actor: e.actor, action: e.action, outcome: e.outcome, details: e.details }));

describe('pre authentication, staff', () => {
  it('lets an enabled user with a mobile number through while failover is on, returning the event unchanged and auditing nothing yet', async () => {
    // Prepare
    const input = pre('alice@corp.test');

    // Act
    const output = await handler()(input);

    // Assess
    expect(output).toEqual(pre('alice@corp.test'));
    expect(audit.events).toEqual([]);
  });

  it.each([
    ['failover is off', 'alice@corp.test', () => (flagOn = false), 'failover-off'],
    ['the user is disabled', 'bob@corp.test', () => undefined, 'disabled'],
    ['the user has no mobile number', 'carol@corp.test', () => undefined, 'no-mobile'],
    ['the directory does not know the account', 'mallory@corp.test', () => undefined, 'unknown-user'],
    ['staff codes are switched off in the configuration', 'alice@corp.test', () => (staffCodes = false), 'codes-off'],
  ])('refuses when %s, with the one message, and audits signin.code.denied with the reason', async (_, user, arrange, reason) => {
    // Prepare
    arrange();

    // Act
    const outcome = handler()(pre(user));

    // Assess
    await expect(outcome).rejects.toThrow(SIGN_IN_REFUSED_MESSAGE);
    expect(entries()).toEqual([{ actor: user, action: 'signin.code.denied', outcome: 'denied', details: { reason, breakGlass: true } }]);
    expect(factorCalls).toEqual([]);
  });

  it('refuses a name Cognito does not know (userNotFound, PreventUserExistenceErrors) exactly as a refused known account', async () => {
    // Act
    const unknown = await handler()(pre('ghost@corp.test', { userNotFound: true })).catch((error: Error) => error);
    flagOn = false;
    const known = await handler()(pre('alice@corp.test')).catch((error: Error) => error);

    // Assess
    expect(unknown).toBeInstanceOf(Error);
    expect((unknown as Error).message).toBe((known as Error).message);
    expect(entries()[0]).toMatchObject({ actor: 'ghost@corp.test', action: 'signin.code.denied', details: { reason: 'unknown-user' } });
  });

  it('still refuses when the refusal cannot be audited (the audit error, not a sign-in)', async () => {
    // Prepare
    flagOn = false;
    audit.failNext = 10;

    // Act
    const outcome = handler()(pre('alice@corp.test'));

    // Assess
    await expect(outcome).rejects.toThrow(/audit entry for signin\.code\.denied/);
  }, 10_000);
});

describe('pre authentication, break-glass admin', () => {
  it('lets an admin with TOTP through even while failover is off, asking the pool about the account signing in', async () => {
    // Prepare
    flagOn = false;

    // Act
    const output = await handler()(pre(ADMIN));

    // Assess
    expect(output).toEqual(pre(ADMIN));
    expect(factorCalls).toEqual([{ userPoolId: POOL, username: ADMIN }]);
    expect(audit.events).toEqual([]);
  });

  it('refuses an admin without TOTP and audits signin.denied: the second factor stays mandatory while the pool MFA is optional', async () => {
    // Prepare
    totp.clear();

    // Act
    const outcome = handler()(pre(ADMIN.toUpperCase()));

    // Assess
    await expect(outcome).rejects.toThrow(SIGN_IN_REFUSED_MESSAGE);
    expect(entries()).toEqual([
      { actor: ADMIN, action: 'signin.denied', outcome: 'denied', details: { reason: 'no-totp', breakGlass: true } },
    ]);
  });

  it('lets an admin without TOTP in only inside an open setup window, and audits that it did', async () => {
    // Prepare
    totp.clear();
    windows.set(ADMIN, Date.parse('2030-05-01T08:10:00Z'));

    // Act
    const inside = await handler()(pre(ADMIN));
    windows.set(ADMIN, Date.parse('2030-05-01T08:00:00Z'));
    const closed = handler()(pre(ADMIN));

    // Assess
    expect(inside).toEqual(pre(ADMIN));
    await expect(closed).rejects.toThrow(SIGN_IN_REFUSED_MESSAGE);
    expect(entries()).toEqual([
      { actor: ADMIN, action: 'signin', outcome: 'ok', details: { breakGlass: true, totpSetupWindow: true } },
      { actor: ADMIN, action: 'signin.denied', outcome: 'denied', details: { reason: 'no-totp', breakGlass: true } },
    ]);
  });

  it('never opens a setup window for staff: the window is the admins only', async () => {
    // Prepare
    flagOn = false;
    windows.set('alice@corp.test', Date.parse('2030-05-01T09:00:00Z'));

    // Act
    const outcome = handler()(pre('alice@corp.test'));

    // Assess
    await expect(outcome).rejects.toThrow(SIGN_IN_REFUSED_MESSAGE);
  });

  it('does not treat an account as admin because its name merely contains an admin name', async () => {
    // Prepare
    flagOn = false;

    // Act
    const outcome = handler()(pre(`x${ADMIN}`));

    // Assess
    await expect(outcome).rejects.toThrow(SIGN_IN_REFUSED_MESSAGE);
    expect(factorCalls).toEqual([]);
    expect(entries()[0]).toMatchObject({ action: 'signin.code.denied', details: { reason: 'failover-off' } });
  });
});

describe('federated users', () => {
  it.each([
    ['marked EXTERNAL_PROVIDER', { 'cognito:user_status': 'EXTERNAL_PROVIDER' }],
    ['carrying identities', { identities: '[{"providerName":"ADFS","userId":"alice@corp.test"}]' }],
  ])('pass pre and post authentication untouched when %s, even with the flag off', async (_, attributes) => {
    // Prepare
    flagOn = false;
    const userAttributes = { sub: '9f2b', email: 'alice@corp.test', ...attributes };

    // Act
    const before = await handler()(pre('ADFS_alice@corp.test', { userAttributes }));
    const after = await handler()(post('ADFS_alice@corp.test', { userAttributes }));

    // Assess
    expect(before).toEqual(pre('ADFS_alice@corp.test', { userAttributes }));
    expect(after).toEqual(post('ADFS_alice@corp.test', { userAttributes }));
    expect(audit.events).toEqual([]);
  });
});

describe('post authentication', () => {
  it('audits a staff sign-in as signin.code and an admin sign-in as signin, returning the event', async () => {
    // Act
    const staff = await handler()(post('alice@corp.test'));
    const admin = await handler()(post(ADMIN));

    // Assess
    expect(staff).toEqual(post('alice@corp.test'));
    expect(admin).toEqual(post(ADMIN));
    expect(entries()).toEqual([
      { actor: 'alice@corp.test', action: 'signin.code', outcome: 'ok', details: { breakGlass: true } },
      { actor: ADMIN, action: 'signin', outcome: 'ok', details: { breakGlass: true } },
    ]);
  });

  it('fails the sign-in when it cannot be audited: an unaudited break-glass sign-in does not happen', async () => {
    // Prepare
    audit.failNext = 10;

    // Act
    const outcome = handler()(post('alice@corp.test'));

    // Assess
    await expect(outcome).rejects.toThrow(/audit entry for signin\.code/);
  }, 10_000);
});

describe('malformed events', () => {
  it.each([
    ['another trigger', { ...pre('alice@corp.test'), triggerSource: 'PreSignUp_SignUp' }],
    ['no user name', { ...pre('alice@corp.test'), userName: '' }],
    ['a user pool id that is none', { ...pre('alice@corp.test'), userPoolId: 'pool' }],
    ['no request', { ...pre('alice@corp.test'), request: undefined }],
    ['not an object', 'PreAuthentication_Authentication'],
  ])('refuses %s with a clear error and audits nothing', async (_, input) => {
    // Act
    const outcome = handler()(input);

    // Assess
    await expect(outcome).rejects.toThrow(/not a Cognito authentication trigger event/);
    expect(audit.events).toEqual([]);
  });
});
