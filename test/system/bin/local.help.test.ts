// `npm start -- --help` (bin/local.ts) prints what configures local mode and exits 0 without
// starting anything or touching the data directory; an argument it does not take is refused
// (exit 2) — before issue 16 both were ignored and local mode started.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ENV } from '../../../lambdas/wiring/local-config.ts';
import { LOCAL_START_SCRIPT, localEnv, PROJECT_ROOT } from '../../support/local-process.ts';

let parent: string;
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'shadowmail-local-help-'));
});
afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

function start(...args: string[]) {
  return spawnSync('/bin/sh', [LOCAL_START_SCRIPT, ...args], {
    cwd: PROJECT_ROOT,
    env: localEnv(join(parent, 'data')),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm start -- --help', () => {
  it.each(['--help', '-h'])('%s lists the variables, exits 0 and starts nothing', async (flag) => {
    // Act
    const result = start(flag);
    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm start\n/);
    for (const variable of Object.values(LOCAL_ENV)) expect(result.stdout).toContain(variable);
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses an argument and names it, exit 2, nothing started', async () => {
    // Act
    const result = start('--port', '25');
    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'shadowmail: npm start takes no arguments ("--port"); it is configured by environment variables',
    );
    expect(await readdir(parent)).toEqual([]);
  });
});
