// Wraps some async methods of an object so each call waits a tick before it runs: calls a
// use case issues together are then in flight together, and `most` says how many were.
// Proves independent writes go out at once (one round trip of time), not one after another.
export interface OverlapMeter {
  /** The most wrapped calls in flight at one time. */
  most: number;
  /** Every wrapped call's arguments, in the order made. */
  calls: { name: string; args: unknown[] }[];
}

export function meterOverlap<T extends object>(target: T, names: readonly (keyof T & string)[]): OverlapMeter {
  const meter: OverlapMeter = { most: 0, calls: [] };
  let inFlight = 0;
  const methods = target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of names) {
    const call = methods[name]!.bind(target);
    methods[name] = async (...args: unknown[]) => {
      meter.calls.push({ name, args });
      inFlight += 1;
      meter.most = Math.max(meter.most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return call(...args);
    };
  }
  return meter;
}
