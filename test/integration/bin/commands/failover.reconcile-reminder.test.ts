// `failover off` reminds the admin to run `shadowmail reconcile`, from when failover went
// on; `on` and `status` do not, and --json output stays the flag's state alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileFailoverFlag } from '../../../../lambdas/adapters/local/file-failover-flag.ts';
import { reconcileCommandLine } from '../../../../lambdas/core/reconcile-reminder.ts';
import { runCli } from '../../../support/cli-run.ts';

describe('shadowmail failover off: the reconcile reminder', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-reminder-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('prints the reconcile command with the outage start as --since and the data directory', async () => {
    // Prepare
    const on = await runCli('failover', 'on', '--data-dir', dir);
    const { since } = await new FileFailoverFlag(join(dir, 'failover.json')).read();
    // Act
    const off = await runCli('failover', 'off', '--data-dir', dir);
    // Assess
    expect(on.code).toBe(0);
    expect(on.out).not.toContain('reconcile');
    expect(off.code).toBe(0);
    expect(off.out).toContain(`  ${reconcileCommandLine({ since, target: { dataDir: dir } })}\n`);
    expect(since).toMatch(/^\d{4}-/);
  });

  it('leaves --since out when the flag was not on, and keeps --json to the state', async () => {
    // Act
    const off = await runCli('failover', 'off', '--data-dir', dir);
    const json = await runCli('failover', 'off', '--json', '--data-dir', dir);
    // Assess
    expect(off.out).toContain(`  ${reconcileCommandLine({ since: null, target: { dataDir: dir } })}\n`);
    expect(JSON.parse(json.out)).toMatchObject({ on: false });
  });
});
