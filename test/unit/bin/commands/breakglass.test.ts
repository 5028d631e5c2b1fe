// `shadowmail breakglass admin-setup`: a random password shown once (only its scrypt
// hash kept), a TOTP secret as an otpauth:// URI, in an owner-only file; the account
// then signs in with both factors (break-glass-admin-store); re-enrolling replaces both.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOTP } from 'otpauth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BreakGlassAdminStore } from '../../../../lambdas/adapters/local/break-glass-admin-store.ts';
import { localWebPaths } from '../../../../lambdas/wiring/local-config.ts';
import { runCli } from '../../../support/cli-run.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-breakglass-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

const field = (out: string, name: string) => new RegExp(`^${name}\\s+(\\S+)$`, 'm').exec(out)?.[1] ?? '';
const codeAt = (uri: string, at: Date) =>
  new TOTP({ secret: new URL(uri).searchParams.get('secret')!, digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at.getTime(),
  });

describe('shadowmail breakglass admin-setup (local mode)', () => {
  it('prints a password and an otpauth URI once, keeps only a hash and the secret (0600), and the account signs in with both', async () => {
    // Prepare
    const clock = new ManualClock('2030-03-01T09:00:00Z');
    const file = localWebPaths(dataDir).breakGlassAdmins;
    // Act
    const result = await runCli('breakglass', 'admin-setup', 'Ops@Private.Test', '--data-dir', dataDir);
    const password = field(result.out, 'password');
    const uri = field(result.out, 'authenticator');
    const stored = await readFile(file, 'utf8');
    const mode = (await stat(file)).mode & 0o777;
    const signIn = await new BreakGlassAdminStore(file, clock).authenticate('ops@private.test', password, codeAt(uri, clock.now()));
    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toContain('break-glass admin  ops@private.test');
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(uri).toMatch(/^otpauth:\/\/totp\/.*secret=[A-Z2-7]+/);
    expect(stored).not.toContain(password);
    expect(stored).toContain('scrypt$');
    expect(mode).toBe(0o600);
    expect(signIn).toEqual({ ok: true, username: 'ops@private.test' });
  });

  it('warns when the webmail will not treat the account as an admin, and not when SHADOWMAIL_BREAK_GLASS_ADMINS names it', async () => {
    // Prepare
    const before = process.env.SHADOWMAIL_BREAK_GLASS_ADMINS;
    // Act
    const unnamed = await runCli('breakglass', 'admin-setup', 'ops@private.test', '--data-dir', dataDir);
    process.env.SHADOWMAIL_BREAK_GLASS_ADMINS = 'other@private.test, OPS@private.test';
    const named = await runCli('breakglass', 'admin-setup', 'ops@private.test', '--data-dir', dataDir).finally(() => {
      if (before === undefined) delete process.env.SHADOWMAIL_BREAK_GLASS_ADMINS;
      else process.env.SHADOWMAIL_BREAK_GLASS_ADMINS = before;
    });
    // Assess
    expect(unnamed.err).toContain('SHADOWMAIL_BREAK_GLASS_ADMINS does not name ops@private.test');
    expect(named.err).toBe('');
  });

  it('replaces the password and secret on a second enrolment: the old password no longer works', async () => {
    // Prepare
    const clock = new ManualClock('2030-03-01T09:00:00Z');
    const first = await runCli('breakglass', 'admin-setup', 'ops@private.test', '--data-dir', dataDir);
    // Act
    const second = await runCli('breakglass', 'admin-setup', 'ops@private.test', '--data-dir', dataDir);
    const store = new BreakGlassAdminStore(localWebPaths(dataDir).breakGlassAdmins, clock);
    const withOld = await store.authenticate(
      'ops@private.test',
      field(first.out, 'password'),
      codeAt(field(first.out, 'authenticator'), clock.now()),
    );
    const withNew = await store.authenticate(
      'ops@private.test',
      field(second.out, 'password'),
      codeAt(field(second.out, 'authenticator'), clock.now()),
    );
    // Assess
    expect(withOld.ok).toBe(false);
    expect(withNew.ok).toBe(true);
    expect(await store.list()).toEqual(['ops@private.test']);
  });

  it('refuses a username that is no e-mail address and a missing one (exit 2)', async () => {
    // Act
    const bad = await runCli('breakglass', 'admin-setup', 'ops', '--data-dir', dataDir);
    const missing = await runCli('breakglass', 'admin-setup', '--data-dir', dataDir);
    // Assess
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('is an e-mail address') });
    expect(missing).toMatchObject({ code: 2, err: expect.stringContaining('breakglass needs: admin-setup USERNAME') });
  });
});
