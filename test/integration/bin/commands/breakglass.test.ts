// `shadowmail breakglass admin-setup` against the fake AWS server (CloudFormation outputs,
// Cognito's user API in JSON 1.1) and the message table on dynalite, with the pool's
// pre-authentication trigger played by the real handler on the same table (setup windows,
// audit log) and the real AdminGetUser adapter: the admin is created without an invitation,
// gets a password, signs in only because the command's setup window is open, registers TOTP
// with the code an authenticator computes from the printed URI, and is refused without TOTP
// once the window is closed. A wrong code, a non-admin and a missing stack change nothing.
import { PassThrough } from 'node:stream';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBreakglassCommand, newPassword } from '../../../../bin/commands/breakglass.ts';
import { CognitoSignInFactors } from '../../../../lambdas/adapters/aws/cognito-sign-in-factors.ts';
import { DynamoDbAdminSetupWindows } from '../../../../lambdas/adapters/aws/dynamodb-admin-setup-windows.ts';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { createSignInTriggerHandler } from '../../../../lambdas/handlers/sign-in-trigger.ts';
import { systemClock } from '../../../../lambdas/ports/clock.ts';
import { FAILOVER_OFF } from '../../../../lambdas/ports/failover-flag.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { type FreshTable, freshMessageTable } from '../../../support/dynamodb-table-suite.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const POOL = `${REGION}_AbCdEf123`;
const ADMIN = 'it-admin@corp.example';
const CLIENT_ID = '1example23456789abcdefghij';

let aws: FakeAws;
let dynamo: DynamoDbServer;
let table: FreshTable;
let cognito: CognitoIdentityProviderClient;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [aws, dynamo] = await Promise.all([startFakeAws(), startDynalite()]);
  useFakeAws(aws, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
  cognito = new CognitoIdentityProviderClient({ region: REGION });
});

afterAll(async () => {
  cognito?.destroy();
  process.env = savedEnv;
  await Promise.all([aws?.close(), dynamo?.stop()]);
});

beforeEach(async () => {
  table = await freshMessageTable(dynamo.endpoint, 'breakglass');
  aws.stacks.set(`${STACK}-stateful`, { TableName: table.tableName });
  aws.stacks.set(`${STACK}-stateless`, { UserPoolId: POOL, UserPoolClientId: CLIENT_ID, BreakGlassAdmins: `${ADMIN},ceo@corp.example` });
  aws.doctor.userPools.clear();
  aws.doctor.userPools.set(POOL, { Name: 'corp-mail-webmail' });
  aws.doctor.poolUsers.clear();
  aws.doctor.accessTokens.clear();
  // The pool's trigger, as deployed: the flag is off, so only the admin rule can let anyone in.
  const trigger = createSignInTriggerHandler({
    flag: { read: async () => FAILOVER_OFF },
    directory: { userForAddress: async () => null },
    factors: new CognitoSignInFactors(cognito),
    setupWindows: new DynamoDbAdminSetupWindows({ client: table.client, tableName: table.tableName }),
    audit: new DynamoDbAuditLog({ client: table.client, tableName: table.tableName }),
    clock: systemClock,
    admins: [ADMIN, 'ceo@corp.example'],
    staffCodes: true,
    logger: { info: () => undefined, warn: () => undefined } as never,
  });
  aws.doctor.preAuthentication = async (event) => trigger(event);
  aws.requests.length = 0;
  return () => table.cleanup();
});

/** Runs the command; `answer` computes what the admin types from what was printed so far. */
async function setup(args: string[], answer: (printed: string) => string | null) {
  const input = new PassThrough();
  const out = new PassThrough();
  const err = new PassThrough();
  let printed = '';
  let answered = false;
  out.on('data', (chunk) => {
    printed += chunk;
    if (!answered && printed.includes('code from the app: ')) {
      answered = true;
      const line = answer(printed);
      if (line === null) input.end();
      else input.write(`${line}\n`);
    }
  });
  let errors = '';
  err.on('data', (chunk) => (errors += chunk));
  const code = await createBreakglassCommand(input)(['admin-setup', ...args], out, err);
  return { code, out: printed, err: errors };
}

const codeFrom = (printed: string): string => {
  const uri = /otpauth:\/\/\S+/.exec(printed)![0];
  const secret = new URL(uri).searchParams.get('secret')!;
  return new TOTP({ secret: Secret.fromBase32(secret) }).generate();
};

/** A sign-in with the password alone, as managed login would make it (InitiateAuth on the wire). */
const signIn = (password: string) =>
  fetch(aws.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
    body: JSON.stringify({
      AuthFlow: 'USER_AUTH',
      ClientId: CLIENT_ID,
      AuthParameters: { USERNAME: ADMIN, PASSWORD: password, PREFERRED_CHALLENGE: 'PASSWORD' },
    }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> }));

describe('shadowmail breakglass admin-setup', () => {
  it('creates the admin without an invitation, sets a password, and registers TOTP through the setup window', async () => {
    // Act
    const result = await setup([ADMIN, '--stack', STACK, '--region', REGION], codeFrom);

    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const create = aws.requests.find((r) => r.action === 'AdminCreateUser')!.params;
    expect(create).toMatchObject({ UserPoolId: POOL, Username: ADMIN, MessageAction: 'SUPPRESS' });
    const user = aws.doctor.poolUsers.get(`${POOL}/${ADMIN}`)!;
    expect(user).toMatchObject({
      UserStatus: 'CONFIRMED',
      UserMFASettingList: ['SOFTWARE_TOKEN_MFA'],
      PreferredMfaSetting: 'SOFTWARE_TOKEN_MFA',
    });
    const password = /^password {2}(\S+)$/m.exec(result.out)![1]!;
    expect(user.password).toBe(password);
    expect(result.out).toMatch(/otpauth:\/\/totp\/shadowmail%20corp-mail:it-admin%40corp\.example\?/);
    expect(result.out).toContain(`${ADMIN} is ready`);
    // The window is closed: with the password alone the admin now gets the TOTP challenge, not tokens.
    expect(await new DynamoDbAdminSetupWindows({ client: table.client, tableName: table.tableName }).isOpen(ADMIN, new Date())).toBe(false);
    expect((await signIn(password)).body).toMatchObject({ ChallengeName: 'SOFTWARE_TOKEN_MFA' });
    // The sign-in through the window is in the audit log.
    const audit = await new DynamoDbAuditLog({ client: table.client, tableName: table.tableName }).list({
      since: new Date(Date.now() - 3_600_000).toISOString(),
      until: new Date(Date.now() + 3_600_000).toISOString(),
      limit: 10,
    });
    expect(audit.events.map((e) => [e.actor, e.action, e.details])).toEqual([
      [ADMIN, 'signin', { breakGlass: true, totpSetupWindow: true }],
    ]);
  });

  it('without the window the trigger refuses the admin who has no TOTP: the command is the only way in', async () => {
    // Prepare
    aws.doctor.poolUsers.set(`${POOL}/${ADMIN}`, {
      Username: ADMIN,
      Enabled: true,
      UserStatus: 'CONFIRMED',
      Attributes: [],
      UserMFASettingList: [],
      password: 'Known-Password-1!',
    });

    // Act
    const attempt = await signIn('Known-Password-1!');

    // Assess
    expect(attempt.status).toBe(400);
    expect(attempt.body).toMatchObject({ __type: 'UserLambdaValidationException' });
  });

  it('refuses a wrong code, leaves TOTP unset and closes the window', async () => {
    // Act
    const result = await setup([ADMIN, '--stack', STACK, '--region', REGION], (printed) => {
      const right = codeFrom(printed);
      return right === '000000' ? '111111' : '000000';
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/the code did not match/);
    expect(aws.doctor.poolUsers.get(`${POOL}/${ADMIN}`)!.UserMFASettingList).toEqual([]);
    expect(await new DynamoDbAdminSetupWindows({ client: table.client, tableName: table.tableName }).isOpen(ADMIN, new Date())).toBe(false);
  });

  it('sets up only the stack break-glass admins', async () => {
    // Act
    const stranger = await setup(['mallory@corp.example', '--stack', STACK, '--region', REGION], () => null);

    // Assess
    expect(stranger.code).toBe(2);
    expect(stranger.err).toMatch(
      /mallory@corp\.example is not a break-glass admin of stack corp-mail .*it-admin@corp\.example, ceo@corp\.example/,
    );
    expect(aws.requests.filter((r) => r.service === 'cognito')).toEqual([]);
  });
});

describe('newPassword', () => {
  it('meets the pool policy: 24 characters with upper, lower, digit and symbol, different each time', () => {
    // Act
    const passwords = Array.from({ length: 50 }, () => newPassword());

    // Assess
    for (const password of passwords) {
      expect(password).toHaveLength(24);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/\d/);
      expect(password).toMatch(/[!#$%&*+\-=?@^_]/);
    }
    expect(new Set(passwords).size).toBe(50);
  });
});
