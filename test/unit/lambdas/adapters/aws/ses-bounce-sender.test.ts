// SesBounceSender against a real SESClient whose HTTP layer is replaced behind the
// deserializer (as in ses-outbound-mailer.test.ts): the SDK builds and serializes the
// awsQuery request and parses the canned XML answer. SES has no local stand-in, so the
// wire form of SendBounce is checked here.
import { Readable } from 'node:stream';
import { SESClient } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { SesBounceSender } from '../../../../../lambdas/adapters/aws/ses-bounce-sender.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { NonDeliveryReport } from '../../../../../lambdas/core/non-delivery-report.ts';
import { xml } from '../../../../support/aws-query-xml.ts';
import { ManualClock } from '../../../../support/memory-adapters.ts';

function fakeSes(answer: { status: number; body: string }) {
  const client = new SESClient({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
    maxAttempts: 1,
  });
  const requests: URLSearchParams[] = [];
  client.middlewareStack.addRelativeTo(
    () => async (args: { request: unknown }) => {
      const request = args.request as { body: string | Uint8Array };
      requests.push(new URLSearchParams(typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body)));
      return {
        response: { statusCode: answer.status, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(answer.body)]) },
        output: undefined,
      } as never;
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'fakeSesHttp' },
  );
  return { client, requests };
}

const ok = (id: string) => ({
  status: 200,
  body: `<SendBounceResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendBounceResult><MessageId>${xml(id)}</MessageId></SendBounceResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></SendBounceResponse>`,
});
const error = (code: string, status = 400) => ({
  status,
  body: `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>no</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
});

const REPORT: NonDeliveryReport = {
  reportingMta: 'inbound-smtp.eu-central-1.amazonaws.com',
  postmaster: 'MAILER-DAEMON@corp.test',
  sender: 'sender@partner.test',
  sesMessageId: 'ses-0001',
  arrivalDate: new Date('2026-11-20T10:00:00Z'),
  originalSubject: 'Quarterly numbers',
  recipients: [
    { recipient: 'nobody@corp.test', status: '5.1.1', diagnostic: '550 5.1.1 unknown user', explanation: '550 5.1.1 unknown user' },
  ],
  originalHeaders: 'Subject: Quarterly numbers',
};

describe('SesBounceSender', () => {
  it('asks SES to bounce the received message: our domain’s MAILER-DAEMON, the DSN fields, the text in German and English', async () => {
    const { client, requests } = fakeSes(ok('bounce-1'));
    const sender = new SesBounceSender({ client, clock: new ManualClock('2026-11-20T11:00:00Z') });

    expect(await sender.send(REPORT)).toEqual({ sent: true, providerMessageId: 'bounce-1' });

    const form = Object.fromEntries(requests[0]!);
    expect(form).toMatchObject({
      Action: 'SendBounce',
      OriginalMessageId: 'ses-0001',
      BounceSender: 'MAILER-DAEMON@corp.test',
      'MessageDsn.ReportingMta': 'dns; inbound-smtp.eu-central-1.amazonaws.com',
      'BouncedRecipientInfoList.member.1.Recipient': 'nobody@corp.test',
      'BouncedRecipientInfoList.member.1.RecipientDsnFields.Action': 'failed',
      'BouncedRecipientInfoList.member.1.RecipientDsnFields.Status': '5.1.1',
      'BouncedRecipientInfoList.member.1.RecipientDsnFields.DiagnosticCode': 'smtp; 550 5.1.1 unknown user',
    });
    expect(form.Explanation).toContain('Ihre Nachricht konnte nicht zugestellt werden.');
    expect(form.Explanation).toContain('Your message could not be delivered.');
  });

  it('does not ask SES for a message received 24 hours ago or earlier, and says why', async () => {
    const { client, requests } = fakeSes(ok('bounce-1'));
    const sender = new SesBounceSender({ client, clock: new ManualClock('2026-11-21T10:00:00Z') });

    expect(await sender.send(REPORT)).toEqual({ sent: false, reason: expect.stringMatching(/only within 24 hours of receipt/) });
    expect(requests).toEqual([]);
  });

  it('withholds what SES refuses for good, and lets the rest be tried again', async () => {
    const refused = new SesBounceSender({
      client: fakeSes(error('MessageRejected')).client,
      clock: new ManualClock('2026-11-20T11:00:00Z'),
    });
    expect(await refused.send(REPORT)).toEqual({ sent: false, reason: expect.stringMatching(/^SES refused the bounce: MessageRejected/) });

    const throttled = new SesBounceSender({ client: fakeSes(error('Throttling')).client, clock: new ManualClock('2026-11-20T11:00:00Z') });
    await expect(throttled.send(REPORT)).rejects.toBeInstanceOf(RetryableError);
  });
});
