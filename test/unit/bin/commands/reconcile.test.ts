// `shadowmail reconcile`'s answers before anything is opened: the password only from a
// file, the flags checked with one line each (exit 2), clear text refused without
// --insecure; and its progress bar, drawn only on a terminal.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../../bin/commands/command.ts';
import { progressBar } from '../../../../bin/commands/reconcile.ts';
import { runCli } from '../../../support/cli-run.ts';

const BASE = ['reconcile', '--user', 'svc@corp.test', '--password-file', '/nonexistent/imap-password', '--data-dir', '/nonexistent/data'];

describe('shadowmail reconcile: bad input', () => {
  it.each([
    [
      ['--imap', 'imaps://x', '--password', 'secret'],
      'give the password in a file (--password-file): on the command line other users can read it (ps)',
    ],
    [[], '--imap is required'],
    [['--imap', 'imaps://x', '--login', 'ntlm'], '--login must be plain-authzid or exchange'],
    [['--imap', 'imaps://x', '--timeout', '0'], '--timeout must be a whole number of seconds from 1 to 600'],
    [['--imap', 'imaps://x', '--starttls'], '--starttls and --insecure are for imap:// URLs'],
    [['--imap', 'imap://x', '--starttls', '--insecure'], 'give either --starttls or --insecure, not both'],
    [['--imap', 'imaps://x', '--since', 'yesterday'], '--since is not a time (ISO 8601, e.g. 2030-03-01T00:00:00Z)'],
  ])('%j: one line, exit 2', async (extra, line) => {
    // Act
    const result = await runCli(...BASE, ...extra);
    // Assess
    expect(result.code).toBe(EXIT.badInput);
    expect(result.out).toBe('');
    expect(result.err.split('\n')[0]).toBe(`shadowmail reconcile: ${line}`);
  });

  it('refuses plain imap:// without STARTTLS before reading any file', async () => {
    // Act
    const result = await runCli(...BASE, '--imap', 'imap://exchange.corp.test');
    // Assess
    expect(result.code).toBe(EXIT.badInput);
    expect(result.err.split('\n')[0]).toBe(
      "shadowmail reconcile: imap://exchange.corp.test without --starttls sends the service account's password in clear text: add --starttls (and --ca-file), use imaps://, or give --insecure on a network you trust",
    );
    expect(result.err.split('\n')[1]).toBe('usage:');
  });

  it('says which password file it cannot read', async () => {
    // Act
    const result = await runCli(...BASE, '--imap', 'imaps://exchange.corp.test');
    // Assess
    expect(result.code).toBe(EXIT.badInput);
    expect(result.err).toMatch(/^shadowmail reconcile: cannot read the IMAP password file \/nonexistent\/imap-password: /);
  });
});

describe('progressBar', () => {
  it('draws nothing when stderr is not a terminal', () => {
    expect(progressBar(new PassThrough())).toBeNull();
  });

  it('redraws one line on a terminal and clears it at the end', () => {
    // Prepare
    const err = Object.assign(new PassThrough(), { isTTY: true });
    let written = '';
    err.on('data', (chunk) => (written += chunk));
    const bar = progressBar(err)!;
    // Act
    bar.update(1, 4, 'alice@corp.test');
    bar.done();
    // Assess
    expect(written).toMatch(/^\r\[#{8}\.{22}\] 1\/4 alice@corp\.test\s+\r\s+\r$/);
    expect(written).not.toContain('\n');
  });
});
