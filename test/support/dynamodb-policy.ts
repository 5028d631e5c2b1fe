// What a role really sends to DynamoDB, held against its synthesized IAM statements:
// an HTTP proxy in front of DynamoDB Local / dynalite that records each request's action,
// table, index and partition keys (dynamodb:LeadingKeys), and a small evaluator of the
// statement forms the constructs use (Allow; ForAllValues:StringLike/StringEquals and Null
// on dynamodb:LeadingKeys) — anything else fails the test rather than being guessed at.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MESSAGE_TABLE } from '../../lambdas/contract/message-table.ts';
import type { CfnJson } from './cfn-resource.ts';

export type PolicyStatement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

export interface DynamoCall {
  action: string;
  table: string;
  index?: string;
  /** Partition key values of the call (dynamodb:LeadingKeys); empty when the call has none. */
  leadingKeys: string[];
}

export const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

function conditionHolds(operator: string, values: Record<string, unknown>, call: DynamoCall): boolean {
  const entries = Object.entries(values);
  if (entries.length !== 1 || entries[0]![0] !== 'dynamodb:LeadingKeys') {
    throw new Error(`the test evaluator knows only dynamodb:LeadingKeys, not ${JSON.stringify(values)}`);
  }
  const allowed = [entries[0]![1]].flat() as string[];
  switch (operator) {
    case 'ForAllValues:StringEquals':
      return call.leadingKeys.every((key) => allowed.includes(key));
    case 'ForAllValues:StringLike':
      return call.leadingKeys.every((key) => allowed.some((pattern) => glob(pattern).test(key)));
    case 'Null':
      // "false": the key must be present in the request.
      return (allowed[0] === 'true') === (call.leadingKeys.length === 0);
    default:
      throw new Error(`the test evaluator does not know the condition operator ${operator}`);
  }
}

/**
 * Whether an Allow statement grants the call. `resources.table` and `resources.index` are the
 * table's and the lookup index's ARNs as they appear in the template.
 */
export function allows(statements: PolicyStatement[], call: DynamoCall, resources: { table: unknown; index?: unknown }): boolean {
  if (statements.some((s) => s.Effect !== 'Allow')) throw new Error('the test evaluator knows only Allow statements');
  const resource = JSON.stringify(call.index === undefined ? resources.table : resources.index);
  return statements.some(
    (s) =>
      [s.Action].flat().includes(`dynamodb:${call.action}`) &&
      [s.Resource].flat().some((r) => JSON.stringify(r) === resource) &&
      Object.entries(s.Condition ?? {}).every(([operator, values]) => conditionHolds(operator, values, call)),
  );
}

const { partitionKey, lookupIndex } = MESSAGE_TABLE;

/** The DynamoDB call a JSON request body makes, with its partition keys (the index's, for a Query on the index). */
export function callOf(target: string, body: Record<string, CfnJson>): DynamoCall {
  const action = target.split('.')[1]!;
  const single = (table: string, keys: string[]): DynamoCall => ({
    action,
    table,
    leadingKeys: keys,
    ...(body.IndexName && { index: body.IndexName }),
  });
  switch (action) {
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return single(body.TableName, [body.Key[partitionKey].S]);
    case 'PutItem':
      return single(body.TableName, [body.Item[partitionKey].S]);
    case 'Query': {
      const key = body.IndexName === lookupIndex.name ? lookupIndex.partitionKey : partitionKey;
      const placeholder = /(?:^|[^\w#])(#?\w+)\s*=\s*(:\w+)/g;
      const names = (body.ExpressionAttributeNames ?? {}) as Record<string, string>;
      for (const [, name, value] of String(body.KeyConditionExpression).matchAll(placeholder)) {
        if ((names[name!] ?? name) === key) return single(body.TableName, [body.ExpressionAttributeValues[value!].S]);
      }
      throw new Error(`no partition key condition in ${body.KeyConditionExpression}`);
    }
    case 'BatchWriteItem': {
      const [table, requests] = Object.entries(body.RequestItems as Record<string, Array<Record<string, CfnJson>>>)[0]!;
      return single(
        table,
        requests.map((r) => (r.PutRequest ? r.PutRequest.Item[partitionKey].S : r.DeleteRequest.Key[partitionKey].S)),
      );
    }
    case 'BatchGetItem': {
      const [table, read] = Object.entries(body.RequestItems as Record<string, { Keys: Array<Record<string, CfnJson>> }>)[0]!;
      return single(
        table,
        read.Keys.map((k) => k[partitionKey].S),
      );
    }
    default:
      return single(body.TableName, []);
  }
}

export interface RecordingProxy {
  endpoint: string;
  calls: DynamoCall[];
  close(): Promise<void>;
}

/** An HTTP proxy in front of a DynamoDB endpoint that records every DynamoDB request it passes on. */
export async function recordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const calls: DynamoCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      if (amzTarget) calls.push(callOf(amzTarget, JSON.parse(body.toString('utf8'))));
      const forward = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => res.destroy(error));
      forward.end(body);
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** Each action with the key prefixes (up to the first '#') it was used on: a readable summary for failures. */
export function usage(calls: DynamoCall[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const call of calls) {
    const name = call.index ? `${call.action}@${call.index}` : call.action;
    out[name] ??= new Set();
    for (const key of call.leadingKeys) out[name].add(`${key.split('#')[0]}#`);
  }
  return Object.fromEntries(Object.entries(out).map(([name, prefixes]) => [name, [...prefixes].sort()]));
}
