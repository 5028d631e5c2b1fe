// `--help` answers everywhere: every command of the registry (bin/cli.ts) and every
// subcommand its own usage names (`shadowmail <command> <sub> …`), with -h too (and
// `shadowmail help <command>`),
// exit 0 and the command's usage on stdout — never `Unknown option '--help'` (issue 16).
// Taken from the registry and the usage texts, so a command or subcommand added later is
// covered without touching this file. Nothing here opens a file, a socket or a process:
// help is answered before a command's body runs.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../bin/cli.ts';
import { EXIT } from '../../../bin/commands/command.ts';
import { runCli } from '../../support/cli-run.ts';

const names = [...COMMANDS.keys()];

/** The subcommands a usage text names: the lowercase word after `shadowmail <command>`. */
function subcommandsIn(usage: string, command: string): string[] {
  const pattern = new RegExp(`^\\s*shadowmail ${command} ([a-z][a-z-]*)(?:\\s|$)`, 'gm');
  return [...new Set([...usage.matchAll(pattern)].map((match) => match[1]!))];
}

const usages = new Map<string, string>();
for (const name of names) usages.set(name, (await runCli(name, '--help')).out);

const cases = names.flatMap((name) => subcommandsIn(usages.get(name)!, name).map((sub) => [name, sub] as const));

describe('shadowmail --help', () => {
  it('reads the registry and the subcommands of the usage texts', () => {
    // Assess: the registry is there, and the subcommands are found where commands have them.
    expect(names).toEqual(expect.arrayContaining(['directory', 'failover', 'resend']));
    expect(cases).toEqual(
      expect.arrayContaining([
        ['directory', 'sync'],
        ['directory', 'import'],
        ['directory', 'list'],
        ['failover', 'on'],
        ['resend', 'status'],
      ]),
    );
  });

  it.each(names)('"shadowmail %s --help" prints its usage and exits 0', async (name) => {
    // Act
    const help = await runCli(name, '--help');
    const viaHelp = await runCli('help', name);

    // Assess
    expect(help.code).toBe(EXIT.ok);
    expect(help.err).toBe('');
    expect(help.out).toMatch(new RegExp(`^usage:\\n\\s+shadowmail ${name}\\b`));
    expect(viaHelp).toEqual(help);
  });

  it.each(cases)('"shadowmail %s %s" answers --help and -h with the usage, exit 0', async (name, sub) => {
    // Act
    const answers = await Promise.all([runCli(name, sub, '--help'), runCli(name, sub, '-h'), runCli(name, sub, '--json', '--help')]);
    // A subcommand that parses its options (so --help reaches the frame, not the parser).
    const unknown = await runCli(name, sub, '--no-such-option');

    // Assess
    for (const answer of answers) {
      expect(answer).toEqual({ code: EXIT.ok, out: `${usages.get(name)}`, err: '' });
    }
    expect(unknown.code).toBe(EXIT.badInput);
    expect(unknown.err.split('\n')[0]).toMatch(new RegExp(`^shadowmail ${name}: Unknown option '--no-such-option'`));
  });
});
