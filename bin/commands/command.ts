// The frame of every `shadowmail <command>`, so that all of them answer alike: --help
// prints the usage (exit 0); a usage error prints its line and the usage, another
// ShadowmailError its line (both exit 2: the command could not do what was asked);
// anything else its stack (exit 1). The exit codes are defined here, once.
import { RetryableError, ShadowmailError } from '../../lambdas/core/errors.ts';

/** The exit codes of every command; the meaning of each is in EXIT_STATUS_HELP. */
export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  partial: 3,
  jobFailed: 4,
  /** Done, but some addresses are claimed by two accounts (directory sync): fix them at the source. */
  clashes: 5,
  /** 128 + SIGINT, as a shell reports a process stopped by Ctrl-C. */
  interrupted: 130,
} as const;

/** What `shadowmail --help` and README's CLI section say about the codes. */
export const EXIT_STATUS_HELP = `  Exit status (each command's --help says what its codes mean for it):
    ${EXIT.ok}    done (doctor: no check failed; probe: every step seen; resend: all delivered)
    ${EXIT.failed}    a check or step failed (doctor, probe), a failover switch could not be
         audited, or an unexpected error (its stack is printed)
    ${EXIT.badInput}    bad input, nothing done: a usage error (the usage follows) or one line
         naming what is wrong (a stack that does not exist, local mode not running)
    ${EXIT.partial}    done in part: recipients failed or messages were skipped (resend), a
         queue still holds messages (redrive), messages gone before export read them
    ${EXIT.jobFailed}    the resend job was cancelled or failed
    ${EXIT.clashes}    done, but addresses clash: two accounts claim one (directory; listed)
    ${EXIT.interrupted}  stopped by Ctrl-C: following a resend job (the job goes on), an export
         (nothing written)`;

const DEFAULT_MEANINGS: Partial<Record<keyof typeof EXIT, string>> = {
  ok: 'done',
  failed: 'an unexpected error',
  badInput: 'bad input, nothing done (the line says what is wrong)',
};

/**
 * The exit-status paragraph at the end of a command's usage: the codes it answers with,
 * in its own words where they say more than the defaults.
 */
export function exitStatusHelp(meanings: Partial<Record<keyof typeof EXIT, string>> = {}): string {
  const all = { ...DEFAULT_MEANINGS, ...meanings };
  const lines = (Object.keys(EXIT) as (keyof typeof EXIT)[]).flatMap((key) =>
    all[key] ? [`    ${String(EXIT[key]).padEnd(5)}${all[key]}`] : [],
  );
  return ['  Exit status:', ...lines].join('\n');
}

/** Wrong options or arguments: answered with the usage text. */
export class UsageError extends ShadowmailError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export interface CommandStreams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** A `shadowmail <command>`: its arguments (after its name) and where it writes; answers its exit code. */
export type Command = (argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) => Promise<number>;

/** The command `name` with its usage text, its body run in the frame (runCommand). */
export function command(name: string, usage: string, body: Command): Command {
  return (argv, out, err) => runCommand(name, usage, argv, { out, err }, (args) => body(args, out, err));
}

/**
 * Runs one command's body in the frame. `name` is the command (`trace`), or '' for
 * `shadowmail` itself; the body returns its exit code (one of EXIT) or throws.
 */
export async function runCommand(
  name: string,
  usage: string,
  argv: string[],
  streams: CommandStreams,
  body: (argv: string[]) => Promise<number>,
): Promise<number> {
  const { out, err } = streams;
  const prefix = name === '' ? 'shadowmail' : `shadowmail ${name}`;
  try {
    if (argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
      out.write(`${usage}\n`);
      return EXIT.ok;
    }
    return await body(argv);
  } catch (error) {
    if (isUsageError(error)) {
      err.write(`${prefix}: ${(error as Error).message}\n${usage}\n`);
      return EXIT.badInput;
    }
    if (error instanceof ShadowmailError) {
      err.write(`${prefix}: ${error.message}${transientCause(error)}\n`);
      return EXIT.badInput;
    }
    err.write(`${prefix}: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.failed;
  }
}

/** A UsageError, or node:util parseArgs refusing an option. */
function isUsageError(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * For a transient failure, what the SDK or network said (`: TimeoutError: …`): "cannot
 * write the failover parameter" alone does not tell a timeout from a refused permission.
 */
function transientCause(error: ShadowmailError): string {
  const cause = error.cause;
  if (!(error instanceof RetryableError) || !(cause instanceof Error)) return '';
  const said = (cause.message.split('\n')[0] ?? '').trim().slice(0, 200);
  return `: ${cause.name}${said ? `: ${said}` : ''}`;
}
