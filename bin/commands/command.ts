// The frame of a `shadowmail <command>`: --help prints the usage; a usage error prints
// its line and the usage (exit 2), another ShadowmailError its line (exit 2), anything
// else its stack (exit 1). Every line starts with `shadowmail <command>: `.
import { ShadowmailError } from '../../lambdas/core/errors.ts';

/** Wrong options or arguments: answered with the usage text. */
export class UsageError extends ShadowmailError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export async function runCommand(
  name: string,
  usage: string,
  argv: string[],
  streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream },
  body: (argv: string[]) => Promise<number>,
): Promise<number> {
  const { out, err } = streams;
  try {
    if (argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
      out.write(`${usage}\n`);
      return 0;
    }
    return await body(argv);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`shadowmail ${name}: ${(error as Error).message}\n${usage}\n`);
      return 2;
    }
    if (error instanceof ShadowmailError) {
      err.write(`shadowmail ${name}: ${error.message}\n`);
      return 2;
    }
    err.write(`shadowmail ${name}: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
