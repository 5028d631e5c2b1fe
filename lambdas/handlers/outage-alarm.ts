// The outage alarm function, subscribed to the alarm topic (lib/constructs/outage-alarm.ts):
// every alarm of the deployment publishes there, ALARM and OK alike; only the forward
// backlog alarm going to ALARM sends links (core/outage-alarm-links.ts). The message is
// CloudWatch's alarm notification as SNS delivers it: Records[].Sns.Message is a JSON
// string with AlarmName, NewStateValue, OldStateValue and StateChangeTime
// ("2015-06-03T17:43:27.123+0000"); see "Using Amazon SNS topics for CloudWatch alarms",
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html.
// A thrown error makes Lambda retry the asynchronous invocation (twice by default); the
// episode keys keep a retry from sending an admin a second link.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SNSEvent } from 'aws-lambda';
import { z } from 'zod';
import { InvalidInputError } from '../core/errors.ts';
import { type AlarmLinkDeps, type AlarmLinkReport, sendAlarmLinks } from '../core/outage-alarm-links.ts';

export interface OutageAlarmHandlerDeps {
  /** The forward backlog alarm's full name. */
  backlogAlarmName: string;
  links: AlarmLinkDeps;
  logger: Pick<Logger, 'info' | 'warn'>;
}

const alarmNotification = z.object({
  AlarmName: z.string().min(1),
  NewStateValue: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  OldStateValue: z.string().optional(),
  StateChangeTime: z.string().refine((value) => !Number.isNaN(parseAlarmTime(value).getTime()), 'a time'),
});

export type AlarmNotification = z.infer<typeof alarmNotification>;

/** CloudWatch writes +0000 where ISO 8601 (and Date.parse everywhere) wants +00:00. */
export function parseAlarmTime(value: string): Date {
  return new Date(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

/** The notification in one SNS record's message; anything else is an InvalidInputError. */
export function parseAlarmNotification(message: string): AlarmNotification {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new InvalidInputError('the SNS message is not JSON');
  }
  const parsed = alarmNotification.safeParse(json);
  if (!parsed.success) throw new InvalidInputError(`not a CloudWatch alarm notification: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function createOutageAlarmHandler(deps: OutageAlarmHandlerDeps): (event: SNSEvent) => Promise<AlarmLinkReport[]> {
  return async (event) => {
    const reports: AlarmLinkReport[] = [];
    for (const record of event.Records ?? []) {
      let alarm: AlarmNotification;
      try {
        alarm = parseAlarmNotification(record.Sns.Message);
      } catch (error) {
        // Something else on the topic (a test publish): nothing to retry.
        deps.logger.warn('ignored a message that is no alarm notification', { error: (error as Error).message });
        continue;
      }
      if (alarm.AlarmName !== deps.backlogAlarmName || alarm.NewStateValue !== 'ALARM') continue;
      const report = await sendAlarmLinks({ alarmAt: parseAlarmTime(alarm.StateChangeTime) }, deps.links);
      deps.logger.info('backlog alarm links', { ...report });
      reports.push(report);
    }
    return reports;
  };
}
