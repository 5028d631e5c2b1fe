// The reconcile reminder of `failover off`: one command line, its window from when the
// outage began, the target as the admin named it, safe to paste into a shell.
import { describe, expect, it } from 'vitest';
import { reconcileCommandLine, reconcileReminder } from '../../../../lambdas/core/reconcile-reminder.ts';

describe('reconcileCommandLine', () => {
  it('starts the window when failover went on and names the stack', () => {
    // Act
    const line = reconcileCommandLine({ since: '2030-03-03T09:40:00.000Z', target: { stack: 'prod', region: 'eu-central-1' } });
    // Assess
    expect(line).toBe(
      'shadowmail reconcile --imap imaps://EXCHANGE-HOST:993 --user SERVICE-ACCOUNT --password-file PASSWORD-FILE --since 2030-03-03T09:40:00.000Z --read-state --stack prod --region eu-central-1',
    );
  });

  it('leaves --since out when the start is unknown, and quotes a data directory a shell would split', () => {
    // Act
    const line = reconcileCommandLine({ since: null, target: { dataDir: "/srv/it's mail" } });
    // Assess
    expect(line).not.toContain('--since');
    expect(line.endsWith(`--read-state --data-dir '/srv/it'\\''s mail'`)).toBe(true);
  });

  it('names no target for the default data directory', () => {
    expect(reconcileCommandLine({ since: null })).toMatch(/--read-state$/);
  });
});

describe('reconcileReminder', () => {
  it('says what to run and where, with the command line on a line of its own', () => {
    // Act
    const lines = reconcileReminder({ since: null }).split('\n');
    // Assess
    expect(lines[0]).toMatch(/^next: copy what staff sent in the webmail into their Exchange Sent Items/);
    expect(lines[1]).toBe(`  ${reconcileCommandLine({ since: null })}`);
  });
});
