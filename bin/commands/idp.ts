// `shadowmail idp down|up|status [--data-dir DIR]`: takes local mode's stand-in for AD FS
// (the provider's password form) down and up, so a drill or a test can run the outage
// with the company sign-in gone. The provider looks at the marker file on every request.
// In AWS the IdP is the customer's own AD FS or Entra ID: nothing for this CLI to switch.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../lambdas/wiring/local-data-dir.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions } from './deployed-target.ts';

export const IDP_USAGE = `usage:
  shadowmail idp down [--data-dir DIR]
  shadowmail idp up [--data-dir DIR]
  shadowmail idp status [--data-dir DIR]

  Local mode only: takes the embedded provider's company sign-in (the stand-in for
  AD FS) down or brings it back, at once, without a restart. While it is down the
  sign-in page offers only the break-glass paths: a code by text message (while
  failover is on) and the administrator sign-in (password + authenticator code).
  Against a deployed stack (--stack) it refuses: in AWS the IdP is your own AD FS.
${exitStatusHelp({ badInput: 'bad input, or a deployed stack (its IdP is not ours to switch)' })}`;

export const idpCommand = command('idp', IDP_USAGE, idp);

async function idp(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' }, ...deployedTargetOptions },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...extra] = positionals;
  if (!['down', 'up', 'status'].includes(action ?? '') || extra.length > 0) throw new UsageError('idp needs one of: down, up, status');
  const target = cliTarget(values);
  if (target.kind === 'stack') {
    throw new ShadowmailError(
      'NOT_LOCAL',
      'idp works on local mode only: in AWS the IdP is your own AD FS (or Entra ID); to rehearse without it, block it there',
    );
  }
  const env = target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env;
  const marker = localPaths(readLocalConfig(env).dataDir).idpDown;
  if (action === 'down') {
    await mkdir(dirname(marker), { recursive: true });
    await writeFile(marker, `${JSON.stringify({ since: new Date().toISOString(), by: `cli:${userInfo().username}` })}\n`, { mode: 0o600 });
  } else if (action === 'up') {
    await rm(marker, { force: true });
  }
  const down = await stat(marker).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  out.write(
    down
      ? `company sign-in (AD FS stand-in)  DOWN — only the code and administrator sign-in are offered\nmarker  ${marker}\n`
      : `company sign-in (AD FS stand-in)  up\nmarker  ${marker} (absent)\n`,
  );
  return EXIT.ok;
}
