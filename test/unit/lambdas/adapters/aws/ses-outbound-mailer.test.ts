// SesOutboundMailer against a real SESv2Client whose HTTP layer is replaced, through the
// client's middleware stack, right behind the deserializer: the request is built, signed
// and serialized by the SDK as in AWS, and the canned HTTP answer is parsed by the SDK.
// SES sending has no local stand-in, so this is where the wire format is checked:
// the raw body byte for byte, the envelope recipients (Bcc included) in Destination.
import { Readable } from 'node:stream';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { SesOutboundMailer } from '../../../../../lambdas/adapters/aws/ses-outbound-mailer.ts';
import { InvalidInputError, RetryableError } from '../../../../../lambdas/core/errors.ts';

interface CapturedRequest {
  method: string;
  hostname: string;
  path: string;
  headers: Record<string, string>;
  body: {
    FromEmailAddress?: string;
    Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
    Content?: { Raw?: { Data?: string } };
    ConfigurationSetName?: string;
  };
}

interface CannedAnswer {
  status: number;
  errorType?: string;
  body: Record<string, unknown>;
}

function fakeSes(answers: (n: number) => CannedAnswer = (n) => ({ status: 200, body: { MessageId: `ses-${n}` } })) {
  const client = new SESv2Client({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
    maxAttempts: 1,
  });
  const requests: CapturedRequest[] = [];
  client.middlewareStack.addRelativeTo(
    () => async (args: { request: unknown }) => {
      const request = args.request as Omit<CapturedRequest, 'body'> & { body: string | Uint8Array };
      const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      requests.push({
        method: request.method,
        hostname: request.hostname,
        path: request.path,
        headers: { ...request.headers },
        body: JSON.parse(text),
      });
      const answer = answers(requests.length);
      return {
        response: {
          statusCode: answer.status,
          headers: { 'content-type': 'application/json', ...(answer.errorType ? { 'x-amzn-errortype': answer.errorType } : {}) },
          body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
        },
        output: undefined,
      } as never;
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'fakeSesHttp' },
  );
  return { client, requests };
}

// Every byte value, CRLF framing, a NUL and 8-bit: nothing may be normalized on the way.
const RAW = Buffer.concat([
  Buffer.from('From: Alice <alice@corp.test>\r\nTo: bob@partner.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\n'),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from('\r\n.\r\nend\r\n'),
]);

describe('SesOutboundMailer', () => {
  it('sends the raw bytes unchanged, from the envelope sender, to every envelope recipient including Bcc', async () => {
    // Prepare
    const { client, requests } = fakeSes();
    const mailer = new SesOutboundMailer({ client, configurationSetName: 'webmail' });
    const envelope = { from: 'alice@corp.test', recipients: ['bob@partner.test', 'carol@partner.test', 'hidden-bcc@partner.test'] };
    // Act
    const result = await mailer.send(envelope, RAW);
    // Assess
    expect(result).toEqual({ providerMessageId: 'ses-1' });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.hostname).toBe('email.eu-central-1.amazonaws.com');
    expect(request!.path).toBe('/v2/email/outbound-emails');
    expect(request!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/ses\/aws4_request/);
    expect(request!.body.FromEmailAddress).toBe('alice@corp.test');
    expect(request!.body.Destination).toEqual({ ToAddresses: ['bob@partner.test', 'carol@partner.test', 'hidden-bcc@partner.test'] });
    expect(request!.body.ConfigurationSetName).toBe('webmail');
    expect(Buffer.from(request!.body.Content!.Raw!.Data!, 'base64').equals(RAW)).toBe(true);
  });

  it('splits an envelope beyond the per-call limit into calls with the same bytes', async () => {
    // Prepare
    const { client, requests } = fakeSes();
    const mailer = new SesOutboundMailer({ client });
    const recipients = Array.from({ length: 60 }, (_, i) => `r${i}@partner.test`);
    // Act
    const result = await mailer.send({ from: 'alice@corp.test', recipients }, RAW);
    // Assess
    expect(result.providerMessageId).toBe('ses-1,ses-2');
    expect(requests.map((r) => r.body.Destination!.ToAddresses!.length)).toEqual([50, 10]);
    expect(requests.flatMap((r) => r.body.Destination!.ToAddresses!)).toEqual(recipients);
    for (const request of requests) expect(Buffer.from(request.body.Content!.Raw!.Data!, 'base64').equals(RAW)).toBe(true);
  });

  it('reports a refusal by SES as invalid input (not worth retrying)', async () => {
    // Prepare
    const { client } = fakeSes(() => ({ status: 400, errorType: 'MessageRejected', body: { message: 'Email address is not verified.' } }));
    const mailer = new SesOutboundMailer({ client });
    // Act
    const outcome = mailer.send({ from: 'alice@corp.test', recipients: ['bob@partner.test'] }, RAW);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InvalidInputError);
    await expect(outcome).rejects.toThrow(/MessageRejected: Email address is not verified/);
  });

  it('reports throttling as retryable', async () => {
    // Prepare
    const { client } = fakeSes(() => ({ status: 429, errorType: 'TooManyRequestsException', body: { message: 'Too many requests' } }));
    const mailer = new SesOutboundMailer({ client });
    // Act
    const outcome = mailer.send({ from: 'alice@corp.test', recipients: ['bob@partner.test'] }, RAW);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(RetryableError);
  });

  it('refuses a message over the raw size limit without calling SES', async () => {
    // Prepare
    const { client, requests } = fakeSes();
    const mailer = new SesOutboundMailer({ client, maxMessageBytes: 100 });
    // Act
    const outcome = mailer.send({ from: 'alice@corp.test', recipients: ['bob@partner.test'] }, RAW);
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InvalidInputError);
    expect(requests).toHaveLength(0);
  });
});
