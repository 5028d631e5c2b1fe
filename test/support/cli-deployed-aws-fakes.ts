// Stand-ins for the AWS APIs that have no local emulator here — CloudFormation
// (DescribeStacks), STS (GetCallerIdentity: who the CLI records as the actor), SSM (GetParameter, PutParameter) and SQS (SendMessage, SendMessageBatch,
// ChangeMessageVisibility, and for queues a test declares: GetQueueAttributes,
// ReceiveMessage, DeleteMessageBatch, StartMessageMoveTask, ListMessageMoveTasks) — as one
// small HTTP server speaking their wire protocols (awsQuery XML, JSON 1.1, JSON 1.0); the
// services `shadowmail doctor` and `probe` call (SES v2 SendEmail among them) are
// answered by doctor-aws-fakes.ts.
// The real SDK clients reach it through the endpoint variables AWS_ENDPOINT_URL_<SERVICE>,
// exactly as they would reach AWS, so the CLI code under test is unchanged. DynamoDB is
// not faked: the tests run DynamoDB Local.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xml } from './aws-query-xml.ts';
import { createDoctorFakes, type DoctorFakeState, type DoctorService } from './doctor-aws-fakes.ts';

export interface FakeAwsRequest {
  service: 'cloudformation' | 'sts' | 'ssm' | 'sqs' | DoctorService;
  action: string;
  params: Record<string, unknown>;
}

/** A message held by a declared queue. */
export interface FakeSqsMessage {
  messageId: string;
  body: string;
  /** Set while received and not deleted (the fake never lets a receive expire). */
  receiptHandle?: string;
}

/** A queue the test declares: it holds messages and answers the DLQ calls. */
export interface FakeQueue {
  url: string;
  arn: string;
  messages: FakeSqsMessage[];
  /** Where a move task without DestinationArn sends this queue's messages: the queue that dead-lettered them. */
  redriveSourceUrl?: string;
  /** Move tasks on this queue, newest last. */
  moveTasks: FakeMoveTask[];
}

export interface FakeMoveTask {
  TaskHandle: string;
  Status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  SourceArn: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  FailureReason?: string;
  StartedTimestamp: number;
}

export interface FakeAws {
  endpoint: string;
  /** Stack name → output key → value. */
  stacks: Map<string, Record<string, string>>;
  /** What GetCallerIdentity answers: the principal whose credentials the CLI uses. */
  caller: { Arn: string; Account: string; UserId: string };
  /** SSM parameter name → value. */
  parameters: Map<string, string>;
  /** Every message SendMessage or SendMessageBatch accepted. */
  sqsMessages: Array<{ queueUrl: string; body: string; delaySeconds: number }>;
  /** Every ChangeMessageVisibility asked for (a failed record's retry backoff). */
  sqsVisibilityChanges: Array<{ queueUrl: string; receiptHandle: string; visibilityTimeout: number }>;
  /** Declared queues by URL (addQueue). */
  queues: Map<string, FakeQueue>;
  /** Declares a queue at `url` (its ARN derived from the URL); messages sent to it are kept. */
  addQueue(url: string, options?: { redriveSourceUrl?: string }): FakeQueue;
  /** SendMessage(Batch) entries with this body are refused (Failed, InternalError) while it returns true. */
  refuseSend?: (queueUrl: string, body: string) => boolean;
  /** Move tasks end in FAILED with this reason while it is set. */
  failMoveTasks?: string;
  requests: FakeAwsRequest[];
  /** What the services doctor and probe call answer (doctor-aws-fakes.ts). */
  doctor: DoctorFakeState;
  /** The endpoint variables that send the SDK's calls here (CloudFormation, STS, SSM, SQS, and doctor's services). */
  endpointEnv(): Record<string, string>;
  /**
   * A CLI user's process environment against the fakes: the endpoints, example credentials and
   * no config files; the region must then come from --region (delete AWS_REGION, AWS_PROFILE).
   */
  cliEnv(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Points this process's SDK clients at the fake with dummy credentials and no region or
 * profile of the machine's own (the test restores process.env afterwards).
 */
export function useFakeAws(aws: FakeAws, extra: Record<string, string> = {}): void {
  Object.assign(process.env, { ...aws.cliEnv(), ...extra });
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
}

/** An SDK client's settings that reach the fake directly (no environment needed), with one attempt per call. */
export function fakeClientConfig(aws: Pick<FakeAws, 'endpoint'>) {
  return {
    endpoint: aws.endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
    maxAttempts: 1,
  };
}

export async function startFakeAws(): Promise<FakeAws> {
  const stacks = new Map<string, Record<string, string>>();
  const parameters = new Map<string, string>();
  const sqsMessages: FakeAws['sqsMessages'] = [];
  const sqsVisibilityChanges: FakeAws['sqsVisibilityChanges'] = [];
  const queues = new Map<string, FakeQueue>();
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
    if (target.startsWith('AmazonSSM.'))
      return ssm(target.slice('AmazonSSM.'.length), JSON.parse(body) as Record<string, unknown>, response);
    if (target.startsWith('AmazonSQS.'))
      return sqs(target.slice('AmazonSQS.'.length), JSON.parse(body) as Record<string, unknown>, response);
    const form = Object.fromEntries(new URLSearchParams(body));
    if (form.Version === '2011-06-15') return sts(form.Action ?? '', form, response);
    if (form.Action) return cloudFormation(form.Action, form, response);
    response.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown request: ${target} ${body.slice(0, 200)}`);
  }

  function cloudFormation(action: string, params: Record<string, string>, response: ServerResponse): void {
    requests.push({ service: 'cloudformation', action, params });
    const xmlns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    const outputs = action === 'DescribeStacks' ? stacks.get(params.StackName ?? '') : undefined;
    if (!outputs) {
      const message = action === 'DescribeStacks' ? `Stack with id ${params.StackName} does not exist` : `unsupported action ${action}`;
      response
        .writeHead(400, { 'content-type': 'text/xml' })
        .end(
          `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        );
      return;
    }
    const members = Object.entries(outputs)
      .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
      .join('');
    response
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<DescribeStacksResponse xmlns="${xmlns}"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${xml(params.StackName!)}</StackName><StackId>arn:aws:cloudformation:eu-central-1:123456789012:stack/${xml(params.StackName!)}/1</StackId>` +
          `<CreationTime>2030-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
  }

  /** STS speaks awsQuery XML (API version 2011-06-15); GetCallerIdentity needs no permission, so it never refuses. */
  function sts(action: string, params: Record<string, string>, response: ServerResponse): void {
    requests.push({ service: 'sts', action, params });
    const xmlns = 'https://sts.amazonaws.com/doc/2011-06-15/';
    if (action !== 'GetCallerIdentity') {
      response
        .writeHead(400, { 'content-type': 'text/xml' })
        .end(
          `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unsupported action ${xml(action)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        );
      return;
    }
    const { Arn, Account, UserId } = fake.caller;
    response
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<GetCallerIdentityResponse xmlns="${xmlns}"><GetCallerIdentityResult><Arn>${xml(Arn)}</Arn><UserId>${xml(UserId)}</UserId><Account>${xml(Account)}</Account></GetCallerIdentityResult>` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
  }

  function ssm(action: string, params: Record<string, unknown>, response: ServerResponse) {
    requests.push({ service: 'ssm', action, params });
    const json = (status: number, value: unknown) => {
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

  function sqs(action: string, params: Record<string, unknown>, response: ServerResponse) {
    requests.push({ service: 'sqs', action, params });
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(value));
    };
    if (action === 'ChangeMessageVisibility') {
      sqsVisibilityChanges.push({
        queueUrl: String(params.QueueUrl),
        receiptHandle: String(params.ReceiptHandle),
        visibilityTimeout: Number(params.VisibilityTimeout),
      });
      return json(200, {});
    }
    const fail = (type: string, message: string) => json(400, { __type: `com.amazonaws.sqs#${type}`, message });
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    const send = (queueUrl: string, body: string, delaySeconds: number): string | undefined => {
      if (fake.refuseSend?.(queueUrl, body)) return undefined;
      const messageId = randomUUID();
      sqsMessages.push({ queueUrl, body, delaySeconds });
      queues.get(queueUrl)?.messages.push({ messageId, body });
      return messageId;
    };
    const queueByArn = (arn: unknown) => [...queues.values()].find((queue) => queue.arn === arn);

    if (action === 'SendMessage') {
      const body = String(params.MessageBody);
      const messageId = send(String(params.QueueUrl), body, Number(params.DelaySeconds ?? 0));
      if (!messageId) return fail('InternalError', 'refused by the test');
      return json(200, { MessageId: messageId, MD5OfMessageBody: md5(body) });
    }
    if (action === 'SendMessageBatch') {
      const entries = params.Entries as Array<{ Id: string; MessageBody: string; DelaySeconds?: number }>;
      const successful: unknown[] = [];
      const failed: unknown[] = [];
      for (const entry of entries) {
        const messageId = send(String(params.QueueUrl), entry.MessageBody, entry.DelaySeconds ?? 0);
        if (messageId) successful.push({ Id: entry.Id, MessageId: messageId, MD5OfMessageBody: md5(entry.MessageBody) });
        else failed.push({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'refused by the test' });
      }
      return json(200, { Successful: successful, Failed: failed });
    }
    if (action === 'StartMessageMoveTask' || action === 'ListMessageMoveTasks') {
      const queue = queueByArn(params.SourceArn);
      if (!queue) return fail('ResourceNotFoundException', `no queue ${String(params.SourceArn)}`);
      if (action === 'ListMessageMoveTasks')
        return json(200, { Results: [...queue.moveTasks].reverse().slice(0, Number(params.MaxResults ?? 1)) });
      if (queue.moveTasks.some((task) => task.Status === 'RUNNING'))
        return fail('UnsupportedOperation', 'a message movement task is already running on this queue');
      const visible = queue.messages.filter((message) => message.receiptHandle === undefined);
      const task: FakeMoveTask = {
        TaskHandle: randomUUID(),
        Status: fake.failMoveTasks ? 'FAILED' : 'COMPLETED',
        SourceArn: queue.arn,
        ApproximateNumberOfMessagesMoved: 0,
        ApproximateNumberOfMessagesToMove: visible.length,
        ...(fake.failMoveTasks && { FailureReason: fake.failMoveTasks }),
        StartedTimestamp: Date.now(),
      };
      if (!fake.failMoveTasks) {
        const destination = queues.get(queue.redriveSourceUrl ?? '');
        if (!destination) return fail('InvalidParameterValue', `queue ${queue.arn} has no source queue to move to`);
        queue.messages = queue.messages.filter((message) => message.receiptHandle !== undefined);
        for (const message of visible) send(destination.url, message.body, 0);
        task.ApproximateNumberOfMessagesMoved = visible.length;
      }
      queue.moveTasks.push(task);
      return json(200, { TaskHandle: task.TaskHandle });
    }
    const queue = queues.get(String(params.QueueUrl));
    if (!queue) return fail('QueueDoesNotExist', `unsupported action ${action} or undeclared queue ${String(params.QueueUrl)}`);
    if (action === 'GetQueueAttributes') {
      const inFlight = queue.messages.filter((message) => message.receiptHandle !== undefined).length;
      return json(200, {
        Attributes: {
          QueueArn: queue.arn,
          ApproximateNumberOfMessages: String(queue.messages.length - inFlight),
          ApproximateNumberOfMessagesNotVisible: String(inFlight),
        },
      });
    }
    if (action === 'ReceiveMessage') {
      const taken = queue.messages
        .filter((message) => message.receiptHandle === undefined)
        .slice(0, Number(params.MaxNumberOfMessages ?? 1));
      for (const message of taken) message.receiptHandle = randomUUID();
      return json(200, {
        Messages: taken.map((message) => ({
          MessageId: message.messageId,
          ReceiptHandle: message.receiptHandle,
          MD5OfBody: md5(message.body),
          Body: message.body,
        })),
      });
    }
    if (action === 'DeleteMessageBatch') {
      const entries = params.Entries as Array<{ Id: string; ReceiptHandle: string }>;
      const handles = new Set(entries.map((entry) => entry.ReceiptHandle));
      queue.messages = queue.messages.filter((message) => message.receiptHandle === undefined || !handles.has(message.receiptHandle));
      return json(200, { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] });
    }
    fail('InvalidAction', `unsupported action ${action}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake: FakeAws = {
    endpoint,
    stacks,
    caller: {
      Arn: 'arn:aws:sts::123456789012:assumed-role/ShadowmailAdmin/alice@corp.example',
      Account: '123456789012',
      UserId: 'AROAEXAMPLEROLEID1234:alice@corp.example',
    },
    parameters,
    sqsMessages,
    sqsVisibilityChanges,
    doctor: doctor.state,
    queues,
    addQueue(url, options = {}) {
      const [account, name] = new URL(url).pathname.split('/').filter(Boolean);
      const queue: FakeQueue = { url, arn: `arn:aws:sqs:eu-central-1:${account}:${name}`, messages: [], moveTasks: [], ...options };
      queues.set(url, queue);
      return queue;
    },
    requests,
    endpointEnv: () => ({
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_ENDPOINT_URL_SSM: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      ...Object.fromEntries(
        ['LAMBDA', 'SESV2', 'SES', 'SNS', 'COGNITO_IDENTITY_PROVIDER', 'CLOUDWATCH'].map((service) => [
          `AWS_ENDPOINT_URL_${service}`,
          endpoint,
        ]),
      ),
    }),
    cliEnv: () => ({
      ...fake.endpointEnv(),
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example-secret',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
