// `shadowmail breakglass admin-setup USERNAME` in local mode: creates (or renews) one of
// local mode's break-glass admin accounts — password + TOTP, independent of the IdP — and
// prints the password once and the otpauth:// URI for an authenticator app. The store
// keeps only the password's scrypt hash and the TOTP secret, readable by its owner only.
import { BreakGlassAdminStore } from '../../lambdas/adapters/local/break-glass-admin-store.ts';
import { WEB_ENV } from '../../lambdas/contract/environment.ts';
import { isBreakGlassAdmin } from '../../lambdas/core/break-glass.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { localWebPaths, readLocalConfig } from '../../lambdas/wiring/local-config.ts';

export async function setUpLocalAdmin(
  username: string,
  dataDir: string | undefined,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<void> {
  const env = dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: dataDir } : process.env;
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
}
