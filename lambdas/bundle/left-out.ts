// What the Lambda bundles put in place of package parts no function runs: MailFunction
// (lib/constructs/mail-function.ts, BUNDLE_ALIASES) points esbuild's `--alias` at the
// modules of this folder, so the bundle neither compiles nor runs the real code at each
// cold start (issue 18). A stand-in that is called after all fails loudly: it writes its
// message to stderr (CloudWatch) before it throws, so a caller that swallows the error
// (mailparser wraps its HTML-to-text conversion in a try) still leaves a trace.

/** The words every stand-in's error holds, for the logs and for the bundle tests. */
export const LEFT_OUT = 'left out of the Lambda bundle';

export function leftOut(what: string): never {
  const message = `${what} is ${LEFT_OUT} (lib/constructs/mail-function.ts, BUNDLE_ALIASES): this code path was not expected to run`;
  console.error(message);
  throw new Error(message);
}
