// `shadowmail idp down|up|status`: the marker file the local provider looks at on every
// request, written and removed under --data-dir; a deployed stack is refused (exit 2).
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { runCli } from '../../../support/cli-run.ts';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-idp-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe('shadowmail idp', () => {
  it('takes the company sign-in down (an owner-only marker naming who and when) and brings it up again', async () => {
    // Prepare
    const marker = localPaths(dataDir).idpDown;
    // Act
    const before = await runCli('idp', 'status', '--data-dir', dataDir);
    const down = await runCli('idp', 'down', '--data-dir', dataDir);
    const markerText = await readFile(marker, 'utf8');
    const mode = (await stat(marker)).mode & 0o777;
    const status = await runCli('idp', 'status', '--data-dir', dataDir);
    const up = await runCli('idp', 'up', '--data-dir', dataDir);
    const upAgain = await runCli('idp', 'up', '--data-dir', dataDir);
    // Assess
    expect(before).toMatchObject({ code: 0, out: expect.stringContaining('  up\n') });
    expect(down).toMatchObject({ code: 0, out: expect.stringContaining('DOWN') });
    expect(JSON.parse(markerText)).toMatchObject({ since: expect.any(String), by: expect.stringMatching(/^cli:/) });
    expect(mode).toBe(0o600);
    expect(status.out).toContain('DOWN');
    expect(up).toMatchObject({ code: 0, out: expect.stringContaining('  up\n') });
    expect(upAgain.code).toBe(0);
    expect(await exists(marker)).toBe(false);
  });

  it('refuses a deployed stack with exit 2: in AWS the IdP is your own AD FS', async () => {
    // Act
    const result = await runCli('idp', 'down', '--stack', 'shadowmail-prod', '--region', 'eu-central-1');
    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain('in AWS the IdP is your own AD FS');
  });

  it('answers a missing or unknown action with the usage', async () => {
    // Act
    const none = await runCli('idp', '--data-dir', dataDir);
    const other = await runCli('idp', 'sideways', '--data-dir', dataDir);
    // Assess
    for (const result of [none, other]) {
      expect(result.code).toBe(2);
      expect(result.err).toContain('idp needs one of: down, up, status');
      expect(result.err).toContain('usage:');
    }
  });
});
