// `shadowmail breakglass admin-setup USERNAME --stack STACK_ID` (local mode: breakglass-local.ts): makes one of the configured
// break-glass admins (config breakGlass.admins, stack output BreakGlassAdmins) ready to sign in
// without AD FS: the account in the user pool (created without an invitation), a new password
// shown once, and TOTP registered with the admin's authenticator app. Cognito associates TOTP
// only for a signed-in user (AssociateSoftwareToken with the user's access token), and the
// sign-in trigger refuses an admin without TOTP — so the command opens a setup window of a few
// minutes for this admin (a SETUP# item the trigger reads), signs in through the webmail's app
// client (USER_AUTH, password), registers and verifies the code, sets TOTP as the admin's MFA,
// and closes the window. API: AdminCreateUser, AdminSetUserPassword, InitiateAuth,
// AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference, RevokeToken
// (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/Welcome.html).
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  AssociateSoftwareTokenCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RevokeTokenCommand,
  SetUserMFAPreferenceCommand,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Secret, TOTP } from 'otpauth';
import { DynamoDbAdminSetupWindows } from '../../lambdas/adapters/aws/dynamodb-admin-setup-windows.ts';
import { WEB_ENV } from '../../lambdas/contract/environment.ts';
import { normalizeAddress } from '../../lambdas/core/addresses.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { cliAwsConfig } from './aws-clients.ts';
import { setUpLocalAdmin } from './breakglass-local.ts';
import { type Command, command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, readDeployedOutputs } from './deployed-target.ts';
import { breakGlassAdmins } from './doctor/cognito.ts';

/** How long the admin may sign in without TOTP: enough to scan a QR code and type one code. */
export const SETUP_WINDOW_MS = 10 * 60_000;

export const BREAKGLASS_USAGE = `usage:
  shadowmail breakglass admin-setup USERNAME --stack STACK_ID [--region REGION]
  shadowmail breakglass admin-setup USERNAME [--data-dir DIR]

  Makes USERNAME, one of the break-glass admins, ready to sign in when AD FS is down, with
  a password and TOTP (independent of AD FS and Entra ID). Running it again gives the admin
  a new password and a new TOTP secret (the old ones stop working).

  --stack: USERNAME must be one of the stack's breakGlass.admins. Creates the account in
  the user pool if needed (no invitation is sent), sets a new random password and prints
  it once, then registers TOTP: it prints an otpauth:// URI (add it to the authenticator
  app) and reads the app's 6-digit code from standard input. For ${SETUP_WINDOW_MS / 60_000} minutes the sign-in
  trigger lets this admin in without TOTP; the window closes when the command ends.

  Local mode (--data-dir, default SHADOWMAIL_DATA_DIR or ./.shadowmail): prints a new
  password and an otpauth:// URI once; the provider's "Administrator sign-in" takes the
  password and the app's current code (each code once), also while the company sign-in is
  down and while failover is off. The webmail treats the account as an admin only if
  ${WEB_ENV.breakGlassAdmins} names it (a comma list of usernames).
${exitStatusHelp({ badInput: 'bad input, nothing done: not a break-glass admin of the stack, a wrong code (run again), …' })}`;

/** The command reading the TOTP code from `input` (standard input; tests pass a stream). */
export function createBreakglassCommand(input: NodeJS.ReadableStream = process.stdin): Command {
  return command('breakglass', BREAKGLASS_USAGE, (argv, out, err) => breakglass(argv, out, err, input));
}

export const breakglassCommand = createBreakglassCommand();

async function breakglass(
  argv: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  input: NodeJS.ReadableStream,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' }, ...deployedTargetOptions },
    allowPositionals: true,
    strict: true,
  });
  const [action, username, ...extra] = positionals;
  if (action !== 'admin-setup' || username === undefined || extra.length > 0)
    throw new UsageError('breakglass needs: admin-setup USERNAME [--stack STACK_ID | --data-dir DIR]');
  const target = cliTarget(values);
  if (target.kind !== 'stack') {
    await setUpLocalAdmin(username, target.dataDir, out, err);
    return EXIT.ok;
  }
  const outputs = await readDeployedOutputs(target);
  const admins = breakGlassAdmins(outputs.get('breakGlassAdmins'));
  const admin = admins.find((name) => normalizeAddress(name) === normalizeAddress(username));
  if (admin === undefined) {
    throw new ShadowmailError(
      'NOT_BREAK_GLASS_ADMIN',
      `${username} is not a break-glass admin of ${outputs.where} (${admins.length > 0 ? admins.join(', ') : 'it has none'}): add it to breakGlass.admins and deploy first`,
    );
  }
  await setUpAdmin(
    {
      username: admin,
      userPoolId: outputs.require('userPoolId'),
      clientId: outputs.require('userPoolClientId'),
      tableName: outputs.require('tableName'),
      region: outputs.region,
      issuer: `shadowmail ${outputs.stackId}`,
    },
    out,
    input,
  );
  return EXIT.ok;
}

interface SetupTarget {
  username: string;
  userPoolId: string;
  clientId: string;
  tableName: string;
  region: string;
  /** The name the authenticator app shows. */
  issuer: string;
}

async function setUpAdmin(target: SetupTarget, out: NodeJS.WritableStream, input: NodeJS.ReadableStream): Promise<void> {
  const cognito = new CognitoIdentityProviderClient(cliAwsConfig(target.region));
  const dynamo = new DynamoDBClient(cliAwsConfig(target.region));
  const windows = new DynamoDbAdminSetupWindows({ client: dynamo, tableName: target.tableName });
  const { username, userPoolId } = target;
  try {
    if (!(await exists(cognito, userPoolId, username))) {
      // SUPPRESS: no invitation mail (it would go to the company mailbox, which is what is down).
      await cognito.send(
        new AdminCreateUserCommand({
          UserPoolId: userPoolId,
          Username: username,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: username },
            { Name: 'email_verified', Value: 'true' },
          ],
        }),
      );
      out.write(`created ${username} in user pool ${userPoolId}\n`);
    }
    const password = newPassword();
    await cognito.send(
      new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: true }),
    );
    await windows.open(username, new Date(Date.now() + SETUP_WINDOW_MS));
    try {
      const signedIn = await cognito.send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_AUTH',
          ClientId: target.clientId,
          AuthParameters: { USERNAME: username, PASSWORD: password, PREFERRED_CHALLENGE: 'PASSWORD' },
        }),
      );
      const tokens = signedIn.AuthenticationResult;
      if (!tokens?.AccessToken) {
        throw new ShadowmailError(
          'BREAK_GLASS_SETUP',
          `Cognito answered the sign-in with ${signedIn.ChallengeName ?? 'no tokens'}, not with tokens: is TOTP already active for ${username}? (shadowmail doctor shows it)`,
        );
      }
      const { SecretCode: secret } = await cognito.send(new AssociateSoftwareTokenCommand({ AccessToken: tokens.AccessToken }));
      if (!secret) throw new ShadowmailError('BREAK_GLASS_SETUP', 'Cognito handed out no TOTP secret');
      const uri = new TOTP({ issuer: target.issuer, label: username, secret: Secret.fromBase32(secret) }).toString();
      out.write(
        [
          `account   ${username}`,
          `password  ${password}`,
          '          (shown once: keep it in the admins’ password safe, not on a company server)',
          'TOTP      add to the authenticator app (as a QR code or typed in):',
          `          ${uri}`,
          `          secret ${secret}`,
          'code from the app: ',
        ].join('\n'),
      );
      const code = await readLine(input);
      if (!/^\d{6}$/.test(code)) throw new ShadowmailError('TOTP_CODE', 'a TOTP code is 6 digits: run admin-setup again');
      try {
        await cognito.send(
          new VerifySoftwareTokenCommand({ AccessToken: tokens.AccessToken, UserCode: code, FriendlyDeviceName: 'shadowmail break-glass' }),
        );
      } catch (error) {
        if (
          (error as { name?: string }).name === 'EnableSoftwareTokenMFAException' ||
          (error as { name?: string }).name === 'CodeMismatchException'
        ) {
          throw new ShadowmailError('TOTP_CODE', "the code did not match: check the phone's clock and run admin-setup again", {
            cause: error,
          });
        }
        throw error;
      }
      await cognito.send(
        new SetUserMFAPreferenceCommand({
          AccessToken: tokens.AccessToken,
          SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
        }),
      );
      // The setup session is of no further use: its refresh token is revoked (best effort).
      if (tokens.RefreshToken) {
        await cognito.send(new RevokeTokenCommand({ ClientId: target.clientId, Token: tokens.RefreshToken })).catch(() => undefined);
      }
    } finally {
      await windows.close(username);
    }
    out.write(`\n${username} is ready: password and TOTP; the setup window is closed. shadowmail doctor checks it.\n`);
  } finally {
    cognito.destroy();
    dynamo.destroy();
  }
}

async function exists(cognito: CognitoIdentityProviderClient, userPoolId: string, username: string): Promise<boolean> {
  try {
    await cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: username }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'UserNotFoundException') return false;
    throw error;
  }
}

/** One line of input, trimmed ('' at its end). */
async function readLine(input: NodeJS.ReadableStream): Promise<string> {
  const lines = createInterface({ input, terminal: false });
  try {
    for await (const line of lines) return line.trim();
    return '';
  } finally {
    lines.close();
  }
}

const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#$%&*+-=?@^_'];

/** 24 random characters with every class the pool's password policy requires (14+, upper, lower, digit, symbol). */
export function newPassword(length = 24): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((set) => set[randomInt(set.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
