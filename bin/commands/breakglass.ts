// `shadowmail breakglass enroll-admin USERNAME [--data-dir DIR]`: creates (or renews)
// one of local mode's break-glass admin accounts — password + TOTP, independent of the
// IdP — and prints the password once and the otpauth:// URI for an authenticator app.
// In AWS these accounts are Cognito native users; this command does not touch them.
import { parseArgs } from 'node:util';
import { BreakGlassAdminStore } from '../../lambdas/adapters/local/break-glass-admin-store.ts';
import { WEB_ENV } from '../../lambdas/contract/environment.ts';
import { isBreakGlassAdmin } from '../../lambdas/core/break-glass.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { localWebPaths, readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions } from './deployed-target.ts';

export const BREAKGLASS_USAGE = `usage:
  shadowmail breakglass enroll-admin USERNAME [--data-dir DIR]

  Local mode only: gives the break-glass admin USERNAME (an e-mail address) a new
  random password and a new TOTP secret, replacing any earlier ones, and prints both
  once: the password, and an otpauth:// URI to add to an authenticator app. The
  provider's "Administrator sign-in" then takes the password and the app's current code
  (each code once), also while the company sign-in is down and while failover is off.
  The webmail treats the account as an admin only if ${WEB_ENV.breakGlassAdmins}
  names it (a comma list of usernames). Hashes and secrets are kept in the data
  directory, readable by its owner only.
  Against a deployed stack (--stack) it refuses: there the admins are Cognito users.
${exitStatusHelp({ badInput: 'bad input (a username that is no e-mail address), or a deployed stack' })}`;

export const breakglassCommand = command('breakglass', BREAKGLASS_USAGE, breakglass);

async function breakglass(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' }, ...deployedTargetOptions },
    allowPositionals: true,
    strict: true,
  });
  const [action, username, ...extra] = positionals;
  if (action !== 'enroll-admin') throw new UsageError('breakglass needs: enroll-admin USERNAME');
  if (username === undefined || extra.length > 0) throw new UsageError('enroll-admin needs one USERNAME (an e-mail address)');
  const target = cliTarget(values);
  if (target.kind === 'stack') {
    throw new ShadowmailError(
      'NOT_LOCAL',
      'breakglass enroll-admin works on local mode only: in AWS the break-glass admins are Cognito users of the pool (config breakGlass.admins)',
    );
  }
  const env = target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env;
  const config = readLocalConfig(env);
  const store = new BreakGlassAdminStore(localWebPaths(config.dataDir).breakGlassAdmins, systemClock);
  const enrolled = await store.enroll(username);
  out.write(
    [
      `break-glass admin  ${enrolled.username}`,
      `password           ${enrolled.password}`,
      `authenticator      ${enrolled.otpauthUri}`,
      '',
      'The password is shown this once: keep it (and the authenticator) where you find them when the site is down.',
      '',
    ].join('\n'),
  );
  if (!isBreakGlassAdmin({ email: enrolled.username, nativeAccount: true }, config.breakGlassAdmins)) {
    err.write(
      `note: ${WEB_ENV.breakGlassAdmins} does not name ${enrolled.username}: the account can sign in, but the webmail refuses it until it is named there\n`,
    );
  }
  return EXIT.ok;
}
