// Every `shadowmail` command answers through the one frame (bin/commands/command.ts):
// a usage mistake exits 2 with a line naming it and the usage, and every --help lists
// the exit codes. The mistakes here are all caught before a command opens anything.
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../../bin/commands/command.ts';
import { runCli } from '../../../support/cli-run.ts';

const MISTAKES: [command: string, argv: string[], says: string][] = [
  ['trace', ['trace', '--json'], 'give at least one of --recipient, --sender, --message-id, --subject, --since'],
  ['resend', ['resend'], 'give one of --message-id, --mailbox or --all, or status, cancel, list'],
  ['failover', ['failover', 'sideways'], 'failover needs one of: on, off, status'],
  ['directory', ['directory', 'erase'], 'unknown directory command "erase"'],
  ['redrive', ['redrive', '--dry-run'], '--stack STACK_ID is required: only a deployed stack has dead-letter queues'],
  ['cost', ['cost', '--users', 'many'], '--users must be a number, not "many"'],
  ['doctor', ['doctor', '--json'], '--stack STACK_ID is required: doctor checks a deployed stack'],
  ['probe', ['probe', '--timeout', '5'], '--to ADDR is required: the mailbox the test message goes to'],
  ['', ['reboot'], 'unknown command "reboot"'],
  ['', [], 'give a command'],
];

describe('the shadowmail command frame', () => {
  it.each(MISTAKES)('answers a usage mistake of "shadowmail %s" with exit 2, what is wrong and the usage', async (command, argv, says) => {
    // Act
    const result = await runCli(...argv);

    // Assess
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    const [line, usage, first] = result.err.split('\n');
    expect(line).toBe(`shadowmail${command ? ` ${command}` : ''}: ${says}`);
    expect(usage).toBe('usage:');
    expect(first).toMatch(new RegExp(`^ {2}shadowmail ${command}`));
  });

  it.each(MISTAKES.filter(([command]) => command !== '').map(([command]) => command))(
    'lists the exit codes in "shadowmail %s --help"',
    async (command) => {
      // Act
      const help = await runCli(command, '--help');

      // Assess
      expect(help.code).toBe(0);
      const codes = help.out
        .split('\n  Exit status:\n')[1]
        ?.split('\n')
        .filter((line) => line !== '')
        .map((line) => /^ {4}(\d+) +\S/.exec(line)?.[1]);
      expect(codes?.[0]).toBe('0');
      expect(codes).toContain('2');
      expect(codes?.every((code) => code !== undefined && Object.values(EXIT).includes(Number(code) as never))).toBe(true);
    },
  );

  it('lists every exit code in "shadowmail --help"', async () => {
    // Act
    const help = await runCli('--help');

    // Assess
    expect(help.code).toBe(0);
    const listed = help.out
      .split('\n  Exit status')[1]
      ?.split('\n')
      .flatMap((line) => /^ {4}(\d+) +\S/.exec(line)?.[1] ?? []);
    expect(listed?.map(Number)).toEqual(Object.values(EXIT));
  });
});
