// Local mode's backlog alarm settings: where break-glass admins get the link
// (username:mobile[:private address], each one of SHADOWMAIL_BREAK_GLASS_ADMINS), the alarm
// threshold (fractions of a minute for drills) and the check interval.
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../lambdas/core/errors.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';

const ADMINS = 'a@corp.test,b@corp.test,c@corp.test,d@corp.test';

describe('readLocalConfig: the backlog alarm', () => {
  it('has no contacts, 30 minutes and a check a minute by default', () => {
    expect(readLocalConfig({})).toMatchObject({ breakGlassContacts: [], forwardBacklogAlarmMinutes: 30, backlogCheckSeconds: 60 });
  });

  it('reads contacts with a mobile, a private address, both or neither', () => {
    const config = readLocalConfig({
      SHADOWMAIL_BREAK_GLASS_ADMINS: ADMINS,
      SHADOWMAIL_BREAK_GLASS_CONTACTS:
        'A@corp.test:+4917012345678:a@home.test, b@corp.test::b@home.test,c@corp.test:+4915112345678,d@corp.test',
      SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES: '0.5',
    });
    expect(config.breakGlassContacts).toEqual([
      { username: 'a@corp.test', mobile: '+4917012345678', privateEmail: 'a@home.test' },
      { username: 'b@corp.test', privateEmail: 'b@home.test' },
      { username: 'c@corp.test', mobile: '+4915112345678' },
      { username: 'd@corp.test' },
    ]);
    expect(config.forwardBacklogAlarmMinutes).toBe(0.5);
  });

  it.each([
    ['SHADOWMAIL_BREAK_GLASS_CONTACTS', 'not-an-address'],
    ['SHADOWMAIL_BREAK_GLASS_CONTACTS', 'a@corp.test:0170123456'],
    ['SHADOWMAIL_BREAK_GLASS_CONTACTS', 'a@corp.test:+4917012345678:not-an-address'],
    ['SHADOWMAIL_BREAK_GLASS_CONTACTS', 'stranger@corp.test:+4917012345678'],
    ['SHADOWMAIL_BREAK_GLASS_CONTACTS', Array.from({ length: 11 }, (_, i) => `a${i}@corp.test`).join(',')],
    ['SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES', '0'],
    ['SHADOWMAIL_BACKLOG_CHECK_SECONDS', 'often'],
  ])('refuses %s=%j naming the variable', (variable, value) => {
    const read = () => readLocalConfig({ SHADOWMAIL_BREAK_GLASS_ADMINS: ADMINS, [variable]: value });
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(new RegExp(`^${variable}: `));
  });
});
