// `npm run drill -- --help` prints the drill's usage and exits 0 before anything starts
// (issue 16: it answered `Unknown option '--help'`); an unknown option still exits non-zero.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../support/local-process.ts';

function drill(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench/drill.ts'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm run drill --help', () => {
  it.each(['--help', '-h'])('%s prints the usage and exits 0', (flag) => {
    // Act
    const result = drill(flag);
    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run drill /);
  });

  it('refuses an unknown option', () => {
    // Act
    const result = drill('--colour');
    // Assess
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Unknown option '--colour'/);
  });
});
