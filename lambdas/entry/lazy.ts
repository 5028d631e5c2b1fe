// What every Lambda entry point builds once per execution environment (wiring,
// SDK clients, secrets) — but a build that failed is forgotten, not kept: a
// rejected promise cached for the environment's lifetime would fail every later
// invocation with the cold start's error (a throttled secret read, a variable
// fixed since) until Lambda happens to recycle the environment.

/** `build` runs on the first call; its value is shared; after a failure the next call builds again. */
export function lazy<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      const attempt = build();
      pending = attempt;
      // Callers already waiting on this attempt still see its error.
      attempt.catch(() => {
        if (pending === attempt) pending = undefined;
      });
    }
    return pending;
  };
}

/** A Lambda handler that builds the real one on its first invocation (as `lazy` does) and hands every invocation to it. */
export function lazyHandler<Args extends unknown[], Result>(
  build: () => Promise<(...args: Args) => Promise<Result>>,
): (...args: Args) => Promise<Result> {
  const built = lazy(build);
  return async (...args) => (await built())(...args);
}
