// `shadowmail failover on|off` in local mode: what it says about when users see the switch
// comes from the cache time the local webmail uses (SHADOWMAIL_FAILOVER_CACHE_SECONDS), not a fixed "30 s".
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../support/cli-run.ts';

describe('shadowmail failover on|off (CLI, local mode)', () => {
  let dir: string;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-failover-'));
    Object.assign(process.env, { SHADOWMAIL_DOMAINS: 'corp.test', SHADOWMAIL_PUBLIC_URL: 'https://mail.corp.test' });
    delete process.env.SHADOWMAIL_FAILOVER_CACHE_SECONDS;
  });
  afterEach(async () => {
    process.env = { ...savedEnv };
    await rm(dir, { recursive: true, force: true });
  });

  it('states the configured cache time of the webmail', async () => {
    // Prepare
    process.env.SHADOWMAIL_FAILOVER_CACHE_SECONDS = '7';
    // Act
    const result = await runCli('failover', 'on', '--reason', 'drill', '--data-dir', dir);
    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toContain('users see this within 7 s');
    expect(result.out).not.toContain('30 s');
  });

  it('says "at once" when the webmail caches nothing, and 30 s by default', async () => {
    // Prepare
    process.env.SHADOWMAIL_FAILOVER_CACHE_SECONDS = '0';
    // Act
    const none = await runCli('failover', 'on', '--reason', 'drill', '--data-dir', dir);
    delete process.env.SHADOWMAIL_FAILOVER_CACHE_SECONDS;
    const fallback = await runCli('failover', 'off', '--reason', 'drill', '--data-dir', dir);
    // Assess
    expect(none.out).toContain('users see this at once');
    expect(fallback.out).toContain('users see this within 30 s');
  });
});
