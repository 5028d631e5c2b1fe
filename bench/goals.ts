// Issue 18's goals for local mode, judged on one bench run: each figure, its limit,
// whether it is met and what it was measured on. The issue sets its goals "in `npm run
// bench`, as ratios to Postfix in the same run — not as timed tests", so the CPU goal is a
// ratio too: local mode's CPU per message at most 2× Postfix's in the same phase (the
// issue's title, "within 2× of Postfix"). Its "≤ 5 CPU ms" was written against Postfix's
// 2.21 ms (burst) and 2.42 ms (steady) in the bench of that day, i.e. 2.26× and 2.07×; this
// machine's speed drifts by ±30 % within minutes and by more across days (bench/README.md),
// so a fixed number of milliseconds would judge the machine, not the code.
// The ratios are judged on the phases taken in turn, both relays up, seconds apart (median
// of the pairs): the main run's steady phases of the two relays are ~2 minutes apart, and
// their CPU ratio moved from 1.59 to 2.54 between runs of one build (bench/README.md). A
// run without pairs (BENCH_BURST_PAIRS=0) is judged on the main run, and says so.
// Latency, drain rate and memory are absolute in the issue and judged so on the main run.
import type { PhaseResult } from './relay-bench.ts';
import { MIB, median, round } from './stats.ts';

export interface Goal {
  goal: string;
  figure: number | null;
  limit: number;
  direction: 'at least' | 'at most';
  met: boolean;
  /** What the figure was measured on: 'main run', or 'in turn, median of N pairs'. */
  basis: string;
  /** The numbers behind the figure (both relays' absolute figures behind a ratio). */
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

type Metric = 'deliveredPerSecond' | 'cpuMsPerMessage';
const UNIT: Record<Metric, string> = { deliveredPerSecond: 'msg/s', cpuMsPerMessage: 'CPU ms/msg' };
interface Phases {
  shadowmail: PhaseResult;
  postfix: PhaseResult;
}

export function issue18Goals(shadowmail: RelayPhases, postfix: RelayPhases, paired: PairedPhases | null): Goal[] {
  const main = {
    burst: [{ shadowmail: shadowmail.burst, postfix: postfix.burst }],
    steady: [{ shadowmail: shadowmail.steady, postfix: postfix.steady }],
  };
  const pairs = paired?.pairs ?? [];
  const inTurn = {
    burst: pairs.map((pair) => ({ shadowmail: pair.shadowmail, postfix: pair.postfix })),
    steady: pairs.map((pair) => pair.steady),
  };
  // shadowmail's figure over Postfix's, per pair and their median, or the main run's one ratio without pairs
  const ratioGoal = (goal: string, limit: number, direction: Goal['direction'], phase: 'burst' | 'steady', metric: Metric): Goal => {
    const phases: Phases[] = pairs.length > 0 ? inTurn[phase] : main[phase];
    const ratios = phases.map((each) => divide(each.shadowmail[metric], each.postfix[metric]));
    const known = ratios.filter((value): value is number => value !== null);
    const figures = phases.map((each) => `${each.shadowmail[metric]}/${each.postfix[metric]}`).join(', ');
    return judge(
      goal,
      known.length === 0 ? null : median(known),
      limit,
      direction,
      pairs.length > 0 ? `in turn, median of ${pairs.length} pairs` : 'main run',
      `${pairs.length > 0 ? `pairs ${ratios.map((value) => value ?? '—').join(', ')}; ` : ''}shadowmail/Postfix ${figures} ${UNIT[metric]}`,
    );
  };
  return [
    ratioGoal('burst delivered, ratio to Postfix', MIN_BURST_RATIO, 'at least', 'burst', 'deliveredPerSecond'),
    ratioGoal('CPU per message at the steady rate, ratio to Postfix', MAX_CPU_RATIO, 'at most', 'steady', 'cpuMsPerMessage'),
    ratioGoal('CPU per message in the burst, ratio to Postfix', MAX_CPU_RATIO, 'at most', 'burst', 'cpuMsPerMessage'),
    judge(
      'p99 250 → delivered at the steady rate, ms',
      shadowmail.steady.deliveryLatencyMs.p99,
      MAX_STEADY_P99_MS,
      'at most',
      'main run',
      `Postfix ${postfix.steady.deliveryLatencyMs.p99} ms`,
    ),
    judge(
      'backlog drain, msg/s',
      shadowmail.backlog.drain?.perSecond ?? null,
      MIN_DRAIN_PER_SECOND,
      'at least',
      'main run',
      `Postfix ${postfix.backlog.drain?.perSecond ?? '—'} msg/s`,
    ),
    judge(
      'peak RSS under the burst, MB',
      round((shadowmail.burst.peakMemoryMiB.rss * MIB) / 1e6, 1),
      MAX_PEAK_RSS_MB,
      'at most',
      'main run',
      `${shadowmail.burst.peakMemoryMiB.rss} MiB`,
    ),
  ];
}

/** A figure the run could not produce (null) is never met. */
function judge(goal: string, figure: number | null, limit: number, direction: Goal['direction'], basis: string, detail: string): Goal {
  const met = figure !== null && (direction === 'at least' ? figure >= limit : figure <= limit);
  return { goal, figure, limit, direction, met, basis, detail };
}

function divide(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : round(a / b, 2);
}
