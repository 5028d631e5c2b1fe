// Runs `shadowmail resend|trace` from the command implementations in bin/commands/,
// the way bin/cli.ts will dispatch to them, for tests that spawn the CLI as a process.
import { resendCommand } from '../../bin/commands/resend.ts';
import { traceCommand } from '../../bin/commands/trace.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [command, ...rest] = process.argv.slice(2);
const run = command === 'resend' ? resendCommand : command === 'trace' ? traceCommand : null;
if (run === null) {
  process.stderr.write(`unknown command ${JSON.stringify(command)}\n`);
  process.exitCode = 2;
} else {
  process.exitCode = await run(rest, process.stdout, process.stderr);
}
