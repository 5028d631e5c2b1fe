// Local mode's backlog alarm settings: the break-glass admins as username[:mobile[:private
// address]], the alarm threshold (fractions of a minute for drills) and the check interval.
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../lambdas/core/errors.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';

describe('readLocalConfig: the backlog alarm', () => {
  it('has no admins, 30 minutes and a check a minute by default', () => {
    expect(readLocalConfig({})).toMatchObject({ breakGlassAdmins: [], forwardBacklogAlarmMinutes: 30, backlogCheckSeconds: 60 });
  });

  it('reads admins with a mobile, a private address, both or neither', () => {
    const config = readLocalConfig({
      SHADOWMAIL_BREAKGLASS_ADMINS:
        'a@corp.test:+4917012345678:a@home.test, b@corp.test::b@home.test,c@corp.test:+4915112345678,d@corp.test',
      SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES: '0.5',
    });
    expect(config.breakGlassAdmins).toEqual([
      { username: 'a@corp.test', mobile: '+4917012345678', privateEmail: 'a@home.test' },
      { username: 'b@corp.test', privateEmail: 'b@home.test' },
      { username: 'c@corp.test', mobile: '+4915112345678' },
      { username: 'd@corp.test' },
    ]);
    expect(config.forwardBacklogAlarmMinutes).toBe(0.5);
  });

  it.each([
    ['SHADOWMAIL_BREAKGLASS_ADMINS', 'not-an-address'],
    ['SHADOWMAIL_BREAKGLASS_ADMINS', 'a@corp.test:0170123456'],
    ['SHADOWMAIL_BREAKGLASS_ADMINS', 'a@corp.test:+4917012345678:not-an-address'],
    ['SHADOWMAIL_BREAKGLASS_ADMINS', Array.from({ length: 11 }, (_, i) => `a${i}@corp.test`).join(',')],
    ['SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES', '0'],
    ['SHADOWMAIL_BACKLOG_CHECK_SECONDS', 'often'],
  ])('refuses %s=%j naming the variable', (variable, value) => {
    expect(() => readLocalConfig({ [variable]: value })).toThrow(ConfigurationError);
    expect(() => readLocalConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });
});
