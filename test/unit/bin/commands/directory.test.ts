// `shadowmail directory sync` over plain ldap:// sends the bind password and the whole
// directory in clear text: refused before anything is opened unless StartTLS, ldaps://
// or an explicit --insecure says otherwise. The data directory given cannot exist (a path
// below /dev/null), so a sync that got past the check stops there with another message.
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../../bin/commands/command.ts';
import { runCli } from '../../../support/cli-run.ts';

const SYNC = ['directory', 'sync', '--bind-dn', 'cn=sync,dc=corp,dc=test', '--bind-password-file', '/nonexistent/bind-password'];
const TARGET = ['--base-dn', 'dc=corp,dc=test', '--data-dir', '/dev/null/shadowmail-data'];

describe('shadowmail directory sync and plain ldap://', () => {
  it.each(['ldap://dc1.corp.test', 'LDAP://dc1.corp.test:389'])(
    'refuses %s without StartTLS: exit 2, says why and what to give',
    async (url) => {
      // Act
      const result = await runCli(...SYNC, '--url', url, ...TARGET);

      // Assess
      expect(result.code).toBe(EXIT.badInput);
      expect(result.out).toBe('');
      expect(result.err.split('\n')[0]).toBe(
        `shadowmail directory: ${url} without --starttls sends the bind password and the directory in clear text: ` +
          'add --starttls (and --ca-file), use ldaps://, or give --insecure on a network you trust',
      );
    },
  );

  it.each([
    ['--starttls', 'ldap://dc1.corp.test'],
    ['--insecure', 'ldap://dc1.corp.test'],
    ['', 'ldaps://dc1.corp.test'],
  ])('lets %j %s past the check', async (flag, url) => {
    const result = await runCli(...SYNC, '--url', url, ...(flag ? [flag] : []), ...TARGET);

    expect(result.code).toBe(EXIT.badInput);
    expect(result.err).toBe(
      'shadowmail directory: cannot read the data directory /dev/null/shadowmail-data: ' +
        "ENOTDIR: not a directory, scandir '/dev/null/shadowmail-data'\n",
    );
  });

  it.each([
    ['--insecure', '--starttls', 'ldap://dc1.corp.test'],
    ['--insecure', '', 'ldaps://dc1.corp.test'],
  ])('refuses %s %j with %s: it is encrypted already, the flag would say otherwise', async (insecure, starttls, url) => {
    const result = await runCli(...SYNC, '--url', url, insecure, ...(starttls ? [starttls] : []), ...TARGET);

    expect(result.code).toBe(EXIT.badInput);
    expect(result.err.split('\n')[0]).toBe('shadowmail directory: --insecure is only for plain ldap:// without --starttls');
  });
});
