// The CLI's audit log in local mode opens the store file beside the running stack. When
// that process is killed and restarted (a drill, a crash), an audit write — say, of
// `failover off` at the end of an outage — still lands instead of leaving the switch
// unrecorded.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../../../lambdas/core/audit.ts';
import { systemClock } from '../../../../lambdas/ports/clock.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';
import { openLocalAuditLog, openReopeningLocalAuditLog } from '../../../../lambdas/wiring/local-resend.ts';
import { type LocalProcess, localEnv, startLocal } from '../../../support/local-process.ts';

const started: LocalProcess[] = [];
let dataDir = '';

afterEach(async () => {
  for (const local of started.splice(0)) await local.kill().catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('local audit log across a restart of the running stack', () => {
  it('writes the entry while the stack it opened beside is killed and restarted', async () => {
    // Prepare: the CLI opened the store file beside stack A, then A is SIGKILLed
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-audit-reopen-'));
    started.push(await startLocal(dataDir, {}, 60_000));
    const config = readLocalConfig(localEnv(dataDir));
    const audit = await openReopeningLocalAuditLog(config, 60_000);
    await started[0]!.kill('SIGKILL');
    // B comes up a moment later, as a supervisor would restart it
    const restarted = new Promise<LocalProcess>((resolve, reject) => {
      setTimeout(() => startLocal(dataDir, {}, 60_000).then(resolve, reject), 1_000);
    });

    // Act
    const event = await recordAudit(audit, systemClock, { actor: 'cli:test', action: 'failover.off', details: { reason: 'primary back' } });
    started.push(await restarted);
    await audit.close();

    // Assess: the entry is in the store, read beside the new stack
    expect(started[1]!.runtime.pid).not.toBe(started[0]!.runtime.pid);
    const reader = await openLocalAuditLog(config);
    try {
      const page = await listAudit({ action: 'failover.off' }, { audit: reader.audit, clock: systemClock });
      expect(page.events.map((e) => [e.id, e.actor, e.details])).toEqual([[event.id, 'cli:test', { reason: 'primary back' }]]);
    } finally {
      await reader.close();
    }
  });
});
