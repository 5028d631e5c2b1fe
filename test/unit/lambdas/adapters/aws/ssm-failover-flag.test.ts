// The SSM failover flag's requests and answers. SSM has no local stand-in here, so a
// middleware at the bottom of the client's stack captures the signed HTTP request the
// SDK would send and answers with an HTTP response the SDK then deserializes itself —
// the real request and response handling of the AWS protocol, without any network.
import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { SsmFailoverFlag } from '../../../../../lambdas/adapters/aws/ssm-failover-flag.ts';
import { InvalidInputError, RetryableError } from '../../../../../lambdas/core/errors.ts';
import { FAILOVER_OFF, type FailoverState } from '../../../../../lambdas/ports/failover-flag.ts';

const PARAMETER = '/shadowmail/failover';

interface Captured {
  target: string | undefined;
  body: Record<string, unknown>;
}

interface FakeAnswer {
  status: number;
  body: unknown;
  errorType?: string;
}

function fakeSsm(answer: (request: Captured) => FakeAnswer): { client: SSMClient; sent: Captured[] } {
  const client = new SSMClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const sent: Captured[] = [];
  client.middlewareStack.add(
    () => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: string | Uint8Array };
      const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      const captured = { target: request.headers['x-amz-target'], body: JSON.parse(text) as Record<string, unknown> };
      sent.push(captured);
      const { status, body, errorType } = answer(captured);
      const response = {
        statusCode: status,
        reason: status === 200 ? 'OK' : 'Bad Request',
        headers: { 'content-type': 'application/x-amz-json-1.1', ...(errorType && { 'x-amzn-errortype': errorType }) },
        body: new TextEncoder().encode(JSON.stringify(body)),
      };
      return { response, output: undefined } as never;
    },
    // Innermost place of the stack: below signing and below the deserializer, which parses our answer.
    { step: 'deserialize', name: 'fakeSsm', priority: 'low' },
  );
  return { client, sent };
}

const STATE: FailoverState = {
  on: true,
  since: '2030-03-03T13:05:00.000Z',
  message: 'Exchange is down.\nUse the webmail.',
  changedBy: 'cli:root',
  reason: 'power outage',
};

describe('SsmFailoverFlag', () => {
  it('reads the parameter as JSON with GetParameter', async () => {
    // Prepare
    const { client, sent } = fakeSsm(() => ({
      status: 200,
      body: { Parameter: { Name: PARAMETER, Type: 'String', Value: JSON.stringify(STATE), Version: 3 } },
    }));
    // Act
    const state = await new SsmFailoverFlag(client, PARAMETER).read();
    // Assess
    expect(sent).toEqual([{ target: 'AmazonSSM.GetParameter', body: { Name: PARAMETER, WithDecryption: true } }]);
    expect(state).toEqual(STATE);
  });

  it('writes the state as JSON with PutParameter, overwriting', async () => {
    // Prepare
    const { client, sent } = fakeSsm(() => ({ status: 200, body: { Version: 4, Tier: 'Standard' } }));
    // Act
    await new SsmFailoverFlag(client, PARAMETER).write(STATE);
    // Assess
    expect(sent).toHaveLength(1);
    expect(sent[0]!.target).toBe('AmazonSSM.PutParameter');
    expect(sent[0]!.body).toMatchObject({ Name: PARAMETER, Type: 'String', Overwrite: true });
    expect(JSON.parse(String(sent[0]!.body.Value))).toEqual(STATE);
  });

  it('reads a missing parameter as normal operation', async () => {
    // Prepare
    const { client } = fakeSsm(() => ({ status: 400, errorType: 'ParameterNotFound', body: { __type: 'ParameterNotFound', message: '' } }));
    // Act
    const state = await new SsmFailoverFlag(client, PARAMETER).read();
    // Assess
    expect(state).toEqual(FAILOVER_OFF);
  });

  it('reports other SSM failures as retryable, with the SDK error as cause', async () => {
    // Prepare
    const { client } = fakeSsm(() => ({
      status: 400,
      errorType: 'AccessDeniedException',
      body: { __type: 'AccessDeniedException', message: 'not allowed' },
    }));
    const flag = new SsmFailoverFlag(client, PARAMETER);
    // Act
    const readFailure = await flag.read().catch((error: unknown) => error);
    const writeFailure = await flag.write(STATE).catch((error: unknown) => error);
    // Assess
    for (const failure of [readFailure, writeFailure]) {
      expect(failure).toBeInstanceOf(RetryableError);
      expect(((failure as Error).cause as Error).name).toBe('AccessDeniedException');
    }
  });

  it('refuses a value that is not a failover state', async () => {
    // Prepare
    const { client } = fakeSsm(() => ({ status: 200, body: { Parameter: { Name: PARAMETER, Type: 'String', Value: 'on' } } }));
    // Act
    const failure = await new SsmFailoverFlag(client, PARAMETER).read().catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(InvalidInputError);
    expect((failure as Error).message).toContain(PARAMETER);
  });
});
