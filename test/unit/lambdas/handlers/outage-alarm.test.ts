// The outage alarm handler reads CloudWatch's alarm notifications off SNS: only the
// backlog alarm going to ALARM sends links, with the alarm's own state change time; OK,
// other alarms and messages that are no notification send nothing.
import type { SNSEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AlarmLinkDeps } from '../../../../lambdas/core/outage-alarm-links.ts';
import { OutageLinkSigner } from '../../../../lambdas/core/outage-link.ts';
import { createOutageAlarmHandler, parseAlarmNotification, parseAlarmTime } from '../../../../lambdas/handlers/outage-alarm.ts';
import { FAILOVER_OFF } from '../../../../lambdas/ports/failover-flag.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { MemorySingleUse } from '../../../support/memory-single-use.ts';

const NAME = 'shadowmail-forward-backlog-age';

/** An SNS event as Lambda gets it from the alarm topic, with CloudWatch's notification (fields as AWS documents them). */
function snsEvent(...messages: (object | string)[]): SNSEvent {
  return {
    Records: messages.map((message, i) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: 'arn:aws:sns:eu-central-1:123456789012:alarms:sub',
      Sns: {
        Type: 'Notification',
        MessageId: `m-${i}`,
        TopicArn: 'arn:aws:sns:eu-central-1:123456789012:alarms',
        Subject: 'ALARM',
        Message: typeof message === 'string' ? message : JSON.stringify(message),
        Timestamp: '2030-03-01T11:58:01.000Z',
        SignatureVersion: '1',
        Signature: 'x',
        SigningCertUrl: 'https://sns.example/cert.pem',
        UnsubscribeUrl: 'https://sns.example/unsubscribe',
        MessageAttributes: {},
      },
    })),
  };
}

const notification = (overrides: object = {}) => ({
  AlarmName: NAME,
  AlarmDescription: 'Mail received over 30 minutes ago is still not delivered',
  AWSAccountId: '123456789012',
  NewStateValue: 'ALARM',
  NewStateReason:
    'Threshold Crossed: 1 out of the last 4 datapoints [2400.0 (01/03/30 11:55:00)] was greater than or equal to the threshold (1800.0)',
  StateChangeTime: '2030-03-01T11:58:00.123+0000',
  Region: 'EU (Frankfurt)',
  AlarmArn: `arn:aws:cloudwatch:eu-central-1:123456789012:alarm:${NAME}`,
  OldStateValue: 'OK',
  ...overrides,
});

describe('outage alarm handler', () => {
  let sms: SmsMessage[];
  let links: AlarmLinkDeps;
  const warnings: string[] = [];
  const logger = { info: () => undefined, warn: (message: string) => void warnings.push(message) };

  beforeEach(() => {
    sms = [];
    warnings.length = 0;
    links = {
      admins: [{ username: 'oncall@corp.example', mobile: '+4917012345678' }],
      signer: new OutageLinkSigner('a-session-secret-of-at-least-32-characters'),
      singleUse: new MemorySingleUse(),
      sms: { send: async (message) => void sms.push(message) },
      mail: { send: async () => undefined },
      flag: { read: async () => FAILOVER_OFF },
      audit: new MemoryAuditLog(),
      clock: new ManualClock('2030-03-01T12:00:00.000Z'),
      publicOrigin: 'https://mail.corp.example',
      timeZone: 'UTC',
    };
  });

  it('sends links when the backlog alarm goes to ALARM, stamped with its state change time', async () => {
    const handler = createOutageAlarmHandler({ backlogAlarmName: NAME, links, logger });
    const reports = await handler(snsEvent(notification()));
    expect(reports).toEqual([{ sent: ['oncall@corp.example'], alreadySent: [], failed: [] }]);
    expect(sms).toHaveLength(1);
    expect(sms[0]!.text).toContain('since 11:58');
  });

  it('sends nothing for OK, INSUFFICIENT_DATA, another alarm, or a message that is no notification', async () => {
    const handler = createOutageAlarmHandler({ backlogAlarmName: NAME, links, logger });
    const reports = await handler(
      snsEvent(
        notification({ NewStateValue: 'OK', OldStateValue: 'ALARM' }),
        notification({ NewStateValue: 'INSUFFICIENT_DATA' }),
        notification({ AlarmName: 'shadowmail-forward-queue-backlog' }),
        notification({ AlarmName: `${NAME}-other` }),
        'not json',
        { hello: 'world' },
      ),
    );
    expect(reports).toEqual([]);
    expect(sms).toHaveLength(0);
    expect(warnings).toHaveLength(2);
  });

  it('sends one link per admin when SNS delivers the same ALARM twice', async () => {
    const handler = createOutageAlarmHandler({ backlogAlarmName: NAME, links, logger });
    await handler(snsEvent(notification()));
    await handler(snsEvent(notification()));
    expect(sms).toHaveLength(1);
  });
});

describe('parseAlarmNotification', () => {
  it('reads CloudWatch time stamps with +0000', () => {
    expect(parseAlarmTime('2015-06-03T17:43:27.123+0000').toISOString()).toBe('2015-06-03T17:43:27.123Z');
    expect(parseAlarmTime('2015-06-03T17:43:27.123+0130').toISOString()).toBe('2015-06-03T16:13:27.123Z');
  });

  it('refuses a notification without a state or with a bad time', () => {
    expect(() => parseAlarmNotification(JSON.stringify({ AlarmName: NAME, StateChangeTime: '2015-06-03T17:43:27.123+0000' }))).toThrow(
      /not a CloudWatch alarm notification/,
    );
    expect(() => parseAlarmNotification(JSON.stringify(notification({ StateChangeTime: 'yesterday' })))).toThrow(/time/);
  });
});
