// Stand-ins for the AWS APIs that have no local emulator here — CloudFormation
// (DescribeStacks), SSM (GetParameter, PutParameter) and SQS (SendMessageBatch,
// ChangeMessageVisibility) — as one small HTTP server speaking their wire protocols
// (awsQuery XML, JSON 1.1, JSON 1.0); the services `shadowmail doctor` and `probe` call
// are answered by doctor-aws-fakes.ts.
// The real SDK clients reach it through the endpoint variables AWS_ENDPOINT_URL_<SERVICE>,
// exactly as they would reach AWS, so the CLI code under test is unchanged. DynamoDB is
// not faked: the tests run DynamoDB Local.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xml } from '../support/aws-query-xml.ts';
import { createDoctorFakes, type DoctorFakeState, type DoctorService } from './doctor-aws-fakes.ts';

export interface FakeAwsRequest {
  service: 'cloudformation' | 'ssm' | 'sqs' | DoctorService;
  action: string;
  params: Record<string, unknown>;
}

export interface FakeAws {
  endpoint: string;
  /** Stack name → output key → value. */
  stacks: Map<string, Record<string, string>>;
  /** SSM parameter name → value. */
  parameters: Map<string, string>;
  /** Every message SendMessageBatch accepted. */
  sqsMessages: Array<{ queueUrl: string; body: string; delaySeconds: number }>;
  /** Every ChangeMessageVisibility asked for (a failed record's retry backoff). */
  sqsVisibilityChanges: Array<{ queueUrl: string; receiptHandle: string; visibilityTimeout: number }>;
  requests: FakeAwsRequest[];
  /** What the services doctor and probe call answer (doctor-aws-fakes.ts). */
  doctor: DoctorFakeState;
  /** The endpoint variables that send the SDK's calls here (CloudFormation, SSM, SQS, and doctor's services). */
  endpointEnv(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Points this process's SDK clients at the fake with dummy credentials and no region or
 * profile of the machine's own (the test restores process.env afterwards).
 */
export function useFakeAws(aws: FakeAws, extra: Record<string, string> = {}): void {
  Object.assign(process.env, {
    ...aws.endpointEnv(),
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example-secret',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    ...extra,
  });
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
}

export async function startFakeAws(): Promise<FakeAws> {
  const stacks = new Map<string, Record<string, string>>();
  const parameters = new Map<string, string>();
  const sqsMessages: FakeAws['sqsMessages'] = [];
  const sqsVisibilityChanges: FakeAws['sqsVisibilityChanges'] = [];
  const requests: FakeAwsRequest[] = [];
  const doctor = createDoctorFakes();

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = String(request.headers['x-amz-target'] ?? '');
    if (await doctor.handle(request, body, response, (service, action, params) => requests.push({ service, action, params }))) return;
    if (target.startsWith('AmazonSSM.')) return ssm(target.slice('AmazonSSM.'.length), JSON.parse(body) as Record<string, unknown>, response);
    if (target.startsWith('AmazonSQS.')) return sqs(target.slice('AmazonSQS.'.length), JSON.parse(body) as Record<string, unknown>, response);
    const form = Object.fromEntries(new URLSearchParams(body));
    if (form.Action) return cloudFormation(form.Action, form, response);
    response.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown request: ${target} ${body.slice(0, 200)}`);
  }

  function cloudFormation(action: string, params: Record<string, string>, response: ServerResponse): void {
    requests.push({ service: 'cloudformation', action, params });
    const xmlns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    const outputs = action === 'DescribeStacks' ? stacks.get(params.StackName ?? '') : undefined;
    if (!outputs) {
      const message = action === 'DescribeStacks' ? `Stack with id ${params.StackName} does not exist` : `unsupported action ${action}`;
      response.writeHead(400, { 'content-type': 'text/xml' }).end(
        `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
      return;
    }
    const members = Object.entries(outputs)
      .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
      .join('');
    response.writeHead(200, { 'content-type': 'text/xml' }).end(
      `<DescribeStacksResponse xmlns="${xmlns}"><DescribeStacksResult><Stacks><member>` +
        `<StackName>${xml(params.StackName!)}</StackName><StackId>arn:aws:cloudformation:eu-central-1:123456789012:stack/${xml(params.StackName!)}/1</StackId>` +
        `<CreationTime>2030-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
        `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    );
  }

  function ssm(action: string, params: Record<string, unknown>, response: ServerResponse): void {
    requests.push({ service: 'ssm', action, params });
    const json = (status: number, value: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(value));
    };
    const name = String(params.Name);
    if (action === 'GetParameter') {
      const value = parameters.get(name);
      if (value === undefined) return json(400, { __type: 'ParameterNotFound', message: `parameter ${name} not found` });
      return json(200, { Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } });
    }
    if (action === 'PutParameter') {
      parameters.set(name, String(params.Value));
      return json(200, { Version: 2, Tier: 'Standard' });
    }
    json(400, { __type: 'InvalidAction', message: `unsupported action ${action}` });
  }

  function sqs(action: string, params: Record<string, unknown>, response: ServerResponse): void {
    requests.push({ service: 'sqs', action, params });
    const json = (status: number, value: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(value));
    };
    if (action === 'ChangeMessageVisibility') {
      sqsVisibilityChanges.push({ queueUrl: String(params.QueueUrl), receiptHandle: String(params.ReceiptHandle), visibilityTimeout: Number(params.VisibilityTimeout) });
      return json(200, {});
    }
    if (action !== 'SendMessageBatch') return json(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `unsupported action ${action}` });
    const entries = params.Entries as Array<{ Id: string; MessageBody: string; DelaySeconds?: number }>;
    for (const entry of entries) sqsMessages.push({ queueUrl: String(params.QueueUrl), body: entry.MessageBody, delaySeconds: entry.DelaySeconds ?? 0 });
    json(200, {
      Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex') })),
      Failed: [],
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    stacks,
    parameters,
    sqsMessages,
    sqsVisibilityChanges,
    requests,
    doctor: doctor.state,
    endpointEnv: () => ({
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
      AWS_ENDPOINT_URL_SSM: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      ...Object.fromEntries(['LAMBDA', 'SESV2', 'SES', 'SNS', 'COGNITO_IDENTITY_PROVIDER', 'CLOUDWATCH'].map((service) => [`AWS_ENDPOINT_URL_${service}`, endpoint])),
    }),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
