// The shadowmail process of the drill: local mode (bin/local.ts) started as a child
// process the way the kill-restart tests do (test/support/local-process.ts), on fixed
// ports so senders, the browser and the CLI find it again after a restart; SIGKILLed on
// request and started again at once on the same data directory. It samples the memory
// of every life (VmHWM, the kernel's peak RSS, read before each kill) and keeps each
// life's output in the work directory.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalProcess, startLocal } from '../../test/support/local-process.ts';
import { memoryOf, peakRssMiB, processTree } from '../procfs.ts';
import type { SwitchingProxy } from './switching-proxy.ts';

export interface KillRecord {
  atSeconds: number;
  /** The moment of the SIGKILL, ms since the epoch. */
  atMs: number;
  phase: string;
  reason: string;
  pid: number;
  /** Relay connections to the primary open at the kill (through the proxy). */
  relayConnectionsOpen: number;
  /** Relay connections closed in the second before the kill: their outcome may not be recorded yet. */
  relayConnectionsClosedLastSecond: number;
  /** Either of the two: a relay was in flight, so its primary's 250 may be unrecorded (the in-doubt window). */
  midRelay: boolean;
  /** SIGKILL to /healthz answering 200 again (atSeconds is the moment of the SIGKILL). */
  restartSeconds: number;
}

export interface ProcessLife {
  pid: number;
  startedAtSeconds: number;
  endedAtSeconds: number | null;
  end: 'SIGKILL' | 'stopped' | 'exited by itself' | null;
  startupSeconds: number;
  peakRssMiB: number | null;
}

export class ShadowmailSupervisor {
  readonly kills: KillRecord[] = [];
  readonly lives: ProcessLife[] = [];
  private local: LocalProcess | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private sampler: NodeJS.Timeout | null = null;
  private peakTreeRssMiB = 0;
  private expectedExit = false;
  unexpectedExits = 0;

  constructor(
    private readonly dataDir: string,
    private readonly env: Record<string, string>,
    private readonly workDir: string,
    private readonly context: { seconds: () => number; phase: () => string; log: (line: string) => void; proxy: SwitchingProxy },
  ) {}

  get process(): LocalProcess {
    if (!this.local) throw new Error('shadowmail is not running');
    return this.local;
  }

  isUp(): boolean {
    return this.local !== null;
  }

  /** SIGKILLs the running process at once (for the drill's own exit, when nothing can be awaited any more). */
  killNow(): void {
    const child = this.local?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      this.expectedExit = true;
      child.kill('SIGKILL');
    }
  }

  async start(): Promise<void> {
    const startedAt = performance.now();
    const local = await startLocal(this.dataDir, this.env, 90_000);
    const life: ProcessLife = {
      pid: local.child.pid!,
      startedAtSeconds: this.context.seconds(),
      endedAtSeconds: null,
      end: null,
      startupSeconds: round((performance.now() - startedAt) / 1000),
      peakRssMiB: null,
    };
    this.lives.push(life);
    this.local = local;
    this.expectedExit = false;
    local.child.once('exit', (code, signal) => {
      if (this.expectedExit) return;
      // not our kill: it crashed; record it and bring it back, as a service manager would
      this.unexpectedExits += 1;
      this.endLife(life, 'exited by itself');
      this.context.log(`shadowmail ${life.pid} exited by itself (code ${code}, signal ${signal}); restarting`);
      void this.saveOutput(local, this.lives.length);
      this.local = null;
      this.busy = this.busy.then(() => this.start()).catch((error: unknown) => this.context.log(`restart failed: ${String(error)}`));
    });
    if (!this.sampler) this.sampler = setInterval(() => this.sample(), 500);
  }

  /** SIGKILL, then start again on the same data directory; serialized with other kills. */
  killAndRestart(reason: string): Promise<KillRecord> {
    const run = this.busy.then(async () => {
      const local = this.process;
      const life = this.lives.at(-1)!;
      const proxy = this.context.proxy;
      const relayConnectionsOpen = proxy.open().pass;
      const relayConnectionsClosedLastSecond = proxy.passClosedWithin(1000);
      this.sample();
      const at = Date.now();
      const atSeconds = round(this.context.seconds());
      const phase = this.context.phase();
      this.expectedExit = true;
      const killedAt = performance.now();
      await local.kill('SIGKILL');
      const midRelay = relayConnectionsOpen + relayConnectionsClosedLastSecond > 0;
      this.endLife(life, 'SIGKILL');
      await this.saveOutput(local, this.lives.length);
      this.local = null;
      await this.start();
      const record: KillRecord = {
        atSeconds,
        atMs: at,
        phase,
        reason,
        pid: life.pid,
        relayConnectionsOpen,
        relayConnectionsClosedLastSecond,
        midRelay,
        restartSeconds: round((performance.now() - killedAt) / 1000),
      };
      this.kills.push(record);
      this.context.log(
        `SIGKILL ${life.pid} (${reason}, ${record.phase}${midRelay ? ', mid-relay' : ''}); back in ${record.restartSeconds} s`,
      );
      return record;
    });
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** The highest VmHWM of any life, MiB. */
  peakRssMiB(): number | null {
    const peaks = this.lives.map((life) => life.peakRssMiB).filter((peak): peak is number => peak !== null);
    return peaks.length > 0 ? Math.max(...peaks) : null;
  }

  /** The highest summed RSS of a life's process tree seen by the 500 ms sampler, MiB. */
  peakSampledTreeRssMiB(): number {
    return round(this.peakTreeRssMiB);
  }

  async stop(): Promise<void> {
    await this.busy;
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
    const local = this.local;
    if (!local) return;
    this.sample();
    this.expectedExit = true;
    await local.kill('SIGTERM');
    this.endLife(this.lives.at(-1)!, 'stopped');
    await this.saveOutput(local, this.lives.length);
    this.local = null;
  }

  private sample(): void {
    const local = this.local;
    const life = this.lives.at(-1);
    if (!local || !life || life.endedAtSeconds !== null) return;
    const pid = local.child.pid!;
    const peak = peakRssMiB(pid);
    if (peak !== null) life.peakRssMiB = round(Math.max(life.peakRssMiB ?? 0, peak));
    this.peakTreeRssMiB = Math.max(this.peakTreeRssMiB, memoryOf(processTree(pid)).rssMiB);
  }

  private endLife(life: ProcessLife, end: ProcessLife['end']): void {
    life.endedAtSeconds = round(this.context.seconds());
    life.end = end;
  }

  private async saveOutput(local: LocalProcess, n: number): Promise<void> {
    await writeFile(join(this.workDir, `shadowmail-life-${String(n).padStart(2, '0')}.log`), local.output()).catch(() => undefined);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
