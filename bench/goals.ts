// Issue 18's goals for local mode, judged on one bench run: each figure, its limit and
// whether it is met. The issue sets its goals "in `npm run bench`, as ratios to Postfix
// in the same run — not as timed tests", so the CPU goal is a ratio too: local mode's CPU
// per message at most 2× Postfix's in the same phase (the issue's title, "within 2× of
// Postfix"). Its "≤ 5 CPU ms" was written against Postfix's 2.21 ms (burst) and 2.42 ms
// (steady) in the bench of that day, i.e. 2.26× and 2.07×; this machine's speed drifts
// by ±30 % within minutes and by more across days (bench/README.md), so a fixed number of
// milliseconds would judge the machine, not the code. The absolute figures stay beside
// the verdict. Latency, drain rate and memory are set in absolute terms by the issue and
// are judged so (each is met with a wide margin, and memory does not drift with speed).
import type { PhaseResult } from './relay-bench.ts';
import { MIB, median, round } from './stats.ts';

export interface Goal {
  goal: string;
  figure: number | null;
  limit: number;
  /** 'at least' or 'at most' the limit. */
  direction: 'at least' | 'at most';
  met: boolean;
  /** What the figure is made of, with the absolute numbers behind a ratio. */
  detail: string;
}

export interface RelayPhases {
  steady: PhaseResult;
  burst: PhaseResult;
  backlog: PhaseResult;
}

/** The phases of both relays taken in turn: bursts, and the steady phases before them. */
export interface PairedPhases {
  pairs: { shadowmail: PhaseResult; postfix: PhaseResult; steady: { shadowmail: PhaseResult; postfix: PhaseResult } }[];
}

/** The CPU ratio that counts as "within 2× of Postfix". */
export const MAX_CPU_RATIO = 2;
const MIN_BURST_RATIO = 0.5;
const MAX_STEADY_P99_MS = 200;
const MIN_DRAIN_PER_SECOND = 200;
const MAX_PEAK_RSS_MB = 256;

export function issue18Goals(shadowmail: RelayPhases, postfix: RelayPhases, paired: PairedPhases | null): Goal[] {
  const goals: Goal[] = [
    atLeast(
      'burst delivered, ratio to Postfix',
      divide(shadowmail.burst.deliveredPerSecond, postfix.burst.deliveredPerSecond),
      MIN_BURST_RATIO,
      `${shadowmail.burst.deliveredPerSecond} against ${postfix.burst.deliveredPerSecond} msg/s`,
    ),
    atMost(
      'p99 250 → delivered at the steady rate, ms',
      shadowmail.steady.deliveryLatencyMs.p99,
      MAX_STEADY_P99_MS,
      `Postfix ${postfix.steady.deliveryLatencyMs.p99} ms`,
    ),
    cpuGoal('CPU per message at the steady rate, ratio to Postfix', shadowmail.steady, postfix.steady),
    cpuGoal('CPU per message in the burst, ratio to Postfix', shadowmail.burst, postfix.burst),
    atLeast(
      'backlog drain, msg/s',
      shadowmail.backlog.drain?.perSecond ?? null,
      MIN_DRAIN_PER_SECOND,
      `Postfix ${postfix.backlog.drain?.perSecond ?? '—'} msg/s`,
    ),
    atMost(
      'peak RSS under the burst, MB',
      round((shadowmail.burst.peakMemoryMiB.rss * MIB) / 1e6, 1),
      MAX_PEAK_RSS_MB,
      `${shadowmail.burst.peakMemoryMiB.rss} MiB`,
    ),
  ];
  if (paired && paired.pairs.length > 0) {
    const burstRatios = paired.pairs.map((pair) => divide(pair.shadowmail.deliveredPerSecond, pair.postfix.deliveredPerSecond));
    const cpuRatios = paired.pairs.map((pair) => divide(pair.shadowmail.cpuMsPerMessage, pair.postfix.cpuMsPerMessage));
    const steadyCpuRatios = paired.pairs.map((pair) => divide(pair.steady.shadowmail.cpuMsPerMessage, pair.steady.postfix.cpuMsPerMessage));
    goals.push(
      atMost(
        'CPU per message at the steady rate, ratio to Postfix, median of the phases in turn',
        knownMedian(steadyCpuRatios),
        MAX_CPU_RATIO,
        `pairs ${list(steadyCpuRatios)}; ${paired.pairs.map((pair) => `${pair.steady.shadowmail.cpuMsPerMessage}/${pair.steady.postfix.cpuMsPerMessage}`).join(', ')} ms`,
      ),
      atLeast(
        'burst delivered, ratio to Postfix, median of the bursts in turn',
        knownMedian(burstRatios),
        MIN_BURST_RATIO,
        `pairs ${list(burstRatios)}`,
      ),
      atMost(
        'CPU per message, ratio to Postfix, median of the bursts in turn',
        knownMedian(cpuRatios),
        MAX_CPU_RATIO,
        `pairs ${list(cpuRatios)}; ${paired.pairs.map((pair) => `${pair.shadowmail.cpuMsPerMessage}/${pair.postfix.cpuMsPerMessage}`).join(', ')} ms`,
      ),
    );
  }
  return goals;
}

function cpuGoal(goal: string, shadowmail: PhaseResult, postfix: PhaseResult): Goal {
  return atMost(
    goal,
    divide(shadowmail.cpuMsPerMessage, postfix.cpuMsPerMessage),
    MAX_CPU_RATIO,
    `${shadowmail.cpuMsPerMessage} against ${postfix.cpuMsPerMessage} CPU ms per message`,
  );
}

function atLeast(goal: string, figure: number | null, limit: number, detail: string): Goal {
  return { goal, figure, limit, direction: 'at least', met: figure !== null && figure >= limit, detail };
}

function atMost(goal: string, figure: number | null, limit: number, detail: string): Goal {
  return { goal, figure, limit, direction: 'at most', met: figure !== null && figure <= limit, detail };
}

function divide(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : round(a / b, 2);
}

/** Median (nearest rank, as elsewhere in the bench) of the known values; null when none is. */
function knownMedian(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : median(known);
}

function list(values: (number | null)[]): string {
  return values.map((value) => value ?? '—').join(', ');
}
