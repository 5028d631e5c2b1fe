// Small numeric helpers for the benchmarks: percentiles and rounding, so every
// figure in results.json is computed the same way.

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an already sorted list (p in 0..100). */
function rank(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function distribution(values: number[], digits = 1): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    p50: round(rank(sorted, 50), digits),
    p95: round(rank(sorted, 95), digits),
    p99: round(rank(sorted, 99), digits),
    max: round(sorted.at(-1) ?? NaN, digits),
    mean: round(mean, digits),
  };
}

/** Nearest-rank percentile of an unsorted list (p in 0..100). */
export function percentile(values: number[], p: number): number {
  return rank(
    [...values].sort((a, b) => a - b),
    p,
  );
}

export function median(values: number[]): number {
  return rank(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export const MIB = 1024 * 1024;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
