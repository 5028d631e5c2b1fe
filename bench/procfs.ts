// CPU time and memory of server processes read from /proc (Linux only), so the
// benchmark can compare shadowmail's single process with Postfix's tree of
// short-lived daemons: CPU is summed over the tree including reaped children,
// memory is sampled (RSS and PSS; PSS splits shared pages fairly between the
// many Postfix processes, RSS would count libc once per daemon).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  /** Own user + system CPU, seconds. */
  own: number;
  /** CPU of children this process has waited for, seconds. */
  reaped: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may contain spaces and parentheses: fields start after the last ')'
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const field = (n: number): number => Number(rest[n - 3]);
    return { ppid: field(4), own: (field(14) + field(15)) / CLOCK_TICKS, reaped: (field(16) + field(17)) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** The process and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(name));
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds used so far by a process tree: live processes' own time plus what
 * their exited (and reaped) children used. A daemon that exits between two
 * readings is counted in its parent's reaped time once the parent waited for it.
 */
export function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat) total += stat.own + stat.reaped;
  }
  return total;
}

export interface MemoryReading {
  rssMiB: number;
  pssMiB: number;
}

/** Summed RSS and PSS of the given processes (smaps_rollup), in MiB. */
export function memoryOf(pids: number[]): MemoryReading {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKb += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      // the process exited between listing and reading
    }
  }
  return { rssMiB: rssKb / 1024, pssMiB: pssKb / 1024 };
}

/** The kernel's high-water mark of one process's RSS (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number | null {
  try {
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** Samples the summed memory of a process set until stopped; keeps the peaks. */
export class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  private peak: MemoryReading = { rssMiB: 0, pssMiB: 0 };
  samples = 0;

  constructor(
    private readonly pids: () => number[],
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  stop(): MemoryReading {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { ...this.peak };
  }

  private sample(): void {
    const reading = memoryOf(this.pids());
    this.samples += 1;
    this.peak = {
      rssMiB: Math.max(this.peak.rssMiB, reading.rssMiB),
      pssMiB: Math.max(this.peak.pssMiB, reading.pssMiB),
    };
  }
}

/** Jiffies of all CPUs together: idle (idle + iowait) and total, from /proc/stat. */
export function machineCpuTimes(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { idle: fields[3]! + fields[4]!, total };
}

/** How busy the whole machine was between two readings, percent of all CPUs. */
export function busyPercent(before: { idle: number; total: number }, after: { idle: number; total: number }): number {
  const total = after.total - before.total;
  return total > 0 ? 100 * (1 - (after.idle - before.idle) / total) : NaN;
}
