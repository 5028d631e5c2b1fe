// The AWS APIs `shadowmail doctor` and `shadowmail probe` call that have no local
// emulator, served by the one fake server of cli-deployed-aws-fakes.ts: Lambda and
// SES v2 (REST-JSON), SES v1 and SNS (awsQuery XML), Cognito (JSON 1.1), SQS and
// CloudWatch (JSON 1.0, CloudWatch in its query-compatible JSON form) — the protocols
// the installed SDK clients speak. Each test sets the state the services answer from.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Secret, TOTP } from 'otpauth';
import { xml } from './aws-query-xml.ts';
import { type CognitoUsersFake, createCognitoUsersFake } from './cognito-users-fake.ts';
import { createSesReceiptRulesFake, type SesReceiptRulesFake } from './ses-receipt-rules-fake.ts';

export type DoctorService = 'lambda' | 'sesv2' | 'ses' | 'sns' | 'cognito' | 'sqs' | 'cloudwatch';

/** What the forward function answers to an Invoke: a payload (with FunctionError), or an API error such as a throttle. */
export type InvokeAnswer =
  | { payload: string; functionError?: 'Handled' | 'Unhandled' }
  | { status: number; errorType: string; message: string };

export interface SentEmail {
  from: string;
  to: string[];
  /** Raw content as sent; empty for simple content (then `simple` holds it). */
  raw: Buffer;
  configurationSetName?: string;
  /** SendEmail with Content.Simple (failover notices): subject and text body. */
  simple?: { subject: string; text: string; charset: string | undefined };
}

/** A native user of a fake user pool, as AdminGetUser describes it. */
export interface FakeCognitoUser {
  Username: string;
  Enabled: boolean;
  UserStatus: string;
  Attributes: Array<{ Name: string; Value: string }>;
  /** The MFA methods the user has activated, e.g. ['SOFTWARE_TOKEN_MFA']. */
  UserMFASettingList: string[];
  /** The password AdminSetUserPassword set (the fake keeps it to check InitiateAuth). */
  password?: string;
  /** The secret AssociateSoftwareToken handed out, until VerifySoftwareToken confirms it. */
  pendingTotpSecret?: string;
  totpSecret?: string;
  PreferredMfaSetting?: string;
}

// ---- failover notices (SNS SMS, notices helper): what Publish to a phone number and the SMS account checks see
/** One SNS Publish to a phone number: the number, the text and the message attributes by name. */
export interface PublishedSms {
  phoneNumber: string;
  message: string;
  attributes: Record<string, string>;
}

export interface SmsFakeState {
  published: PublishedSms[];
  /** When set, Publish answers this error instead (e.g. InvalidParameter for a bad number, Throttling). */
  publishError: { status: number; code: string; message: string } | null;
  /** GetSMSSandboxAccountStatus. */
  inSandbox: boolean;
  /** GetSMSAttributes (MonthlySpendLimit, DefaultSMSType, …). */
  attributes: Record<string, string>;
}
// ---- end failover notices

export interface DoctorFakeState {
  /** SES v2 GetEmailIdentity answers by domain; a missing domain is NotFoundException. */
  identities: Map<string, Record<string, unknown>>;
  account: Record<string, unknown>;
  /** The active receipt rule set, or null for none. */
  activeRuleSet: { name: string; rules: Array<{ Name: string; Enabled: boolean }> } | null;
  configurationSets: Map<string, { set: Record<string, unknown>; destinations: Array<Record<string, unknown>> }>;
  invoke: (functionName: string, event: unknown) => InvokeAnswer | Promise<InvokeAnswer>;
  accountLimit: { ConcurrentExecutions: number; UnreservedConcurrentExecutions: number };
  /** DescribeUserPoolDomain by domain name. */
  userPoolDomains: Map<string, Record<string, unknown>>;
  /** DescribeIdentityProvider by `<pool id>/<provider name>`. */
  identityProviders: Map<string, Record<string, unknown>>;
  /** Break-glass (issue 13): DescribeUserPool by pool id (the UserPool object it answers). */
  userPools: Map<string, Record<string, unknown>>;
  /**
   * Break-glass admins (issue 13): the pools' own users by `<pool id>/<username in lower case>` (AdminGetUser,
   * sign-in, TOTP) — for pools not declared in `cognitoUsers` (the directory sync's user calls).
   */
  poolUsers: Map<string, FakeCognitoUser>;
  /**
   * Break-glass: the pool's pre-authentication trigger, called by InitiateAuth as Cognito would
   * (the event of the Cognito developer guide); a throw fails the sign-in with
   * UserLambdaValidationException. None: no trigger.
   */
  preAuthentication: ((event: Record<string, unknown>) => Promise<unknown>) | null;
  /** Every access token InitiateAuth issued, to the `<pool id>/<username>` it is for. */
  accessTokens: Map<string, string>;
  subscriptions: Map<string, Array<{ SubscriptionArn: string; Protocol: string; Endpoint: string }>>;
  /** GetQueueAttributes by queue URL. */
  queueAttributes: Map<string, Record<string, string>>;
  alarms: Array<Record<string, unknown>>;
  /** The datapoints GetMetricData returns for any query. */
  metricValues: number[];
  /** Every SES v2 SendEmail accepted, and what the test does with it (deliver it as SES would). */
  sentEmails: SentEmail[];
  onSendEmail: (email: SentEmail) => Promise<void> | void;
  /** When set, SendEmail answers this error instead (e.g. MessageRejected in the sandbox). */
  sendEmailError: { status: number; type: string; message: string } | null;
  /** Cognito's user calls (the directory sync's break-glass accounts): cognito-users-fake.ts. */
  cognitoUsers: CognitoUsersFake;
  /** SES receipt rule sets and their rules (the directory sync's address rules): ses-receipt-rules-fake.ts. */
  receiptRules: SesReceiptRulesFake;
  /** SNS SMS (failover notices). */
  sms: SmsFakeState;
}

export interface DoctorFakes {
  state: DoctorFakeState;
  /** Answers the request if it is one of these services; false otherwise. */
  handle(
    request: IncomingMessage,
    body: string,
    response: ServerResponse,
    record: (service: DoctorService, action: string, params: Record<string, unknown>) => void,
  ): Promise<boolean>;
}

export function createDoctorFakes(): DoctorFakes {
  const state: DoctorFakeState = {
    identities: new Map(),
    account: {},
    activeRuleSet: null,
    configurationSets: new Map(),
    invoke: () => ({ status: 404, errorType: 'ResourceNotFoundException', message: 'no function' }),
    accountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 },
    userPoolDomains: new Map(),
    identityProviders: new Map(),
    userPools: new Map(),
    poolUsers: new Map(),
    preAuthentication: null,
    accessTokens: new Map(),
    subscriptions: new Map(),
    queueAttributes: new Map(),
    alarms: [],
    metricValues: [],
    sentEmails: [],
    onSendEmail: () => undefined,
    sendEmailError: null,
    cognitoUsers: createCognitoUsersFake(),
    receiptRules: createSesReceiptRulesFake(),
    sms: { published: [], publishError: null, inSandbox: false, attributes: { MonthlySpendLimit: '1' } },
  };

  async function handle(
    request: IncomingMessage,
    body: string,
    response: ServerResponse,
    record: (service: DoctorService, action: string, params: Record<string, unknown>) => void,
  ): Promise<boolean> {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://fake').pathname);
    const target = String(request.headers['x-amz-target'] ?? '');
    const restJson = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    };
    const restError = (status: number, type: string, message: string): void => restJson(status, { message }, { 'x-amzn-errortype': type });

    // ---- Lambda (REST-JSON)
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    if (invoke && request.method === 'POST') {
      const event = JSON.parse(body) as unknown;
      record('lambda', 'Invoke', { FunctionName: invoke[1], event });
      const answer = await state.invoke(invoke[1]!, event);
      if ('status' in answer) restError(answer.status, answer.errorType, answer.message);
      else {
        response
          .writeHead(200, {
            'content-type': 'application/json',
            'x-amz-executed-version': '$LATEST',
            ...(answer.functionError && { 'x-amz-function-error': answer.functionError }),
          })
          .end(answer.payload);
      }
      return true;
    }
    if (path === '/2016-08-19/account-settings' && request.method === 'GET') {
      record('lambda', 'GetAccountSettings', {});
      restJson(200, {
        AccountLimit: { ...state.accountLimit, TotalCodeSize: 80530636800, CodeSizeUnzipped: 262144000, CodeSizeZipped: 52428800 },
        AccountUsage: { TotalCodeSize: 0, FunctionCount: 5 },
      });
      return true;
    }

    // ---- SES v2 (REST-JSON)
    if (path.startsWith('/v2/email/')) {
      const identity = /^\/v2\/email\/identities\/([^/]+)$/.exec(path);
      const configurationSet = /^\/v2\/email\/configuration-sets\/([^/]+)(\/event-destinations)?$/.exec(path);
      if (identity && request.method === 'GET') {
        record('sesv2', 'GetEmailIdentity', { EmailIdentity: identity[1] });
        const found = state.identities.get(identity[1]!);
        if (found) restJson(200, { IdentityType: 'DOMAIN', ...found });
        else restError(404, 'NotFoundException', `Email identity ${identity[1]} does not exist.`);
      } else if (path === '/v2/email/account' && request.method === 'GET') {
        record('sesv2', 'GetAccount', {});
        restJson(200, state.account);
      } else if (configurationSet && request.method === 'GET') {
        const found = state.configurationSets.get(configurationSet[1]!);
        record('sesv2', configurationSet[2] ? 'GetConfigurationSetEventDestinations' : 'GetConfigurationSet', {
          ConfigurationSetName: configurationSet[1],
        });
        if (!found) restError(404, 'NotFoundException', `Configuration set <${configurationSet[1]}> does not exist.`);
        else
          restJson(
            200,
            configurationSet[2] ? { EventDestinations: found.destinations } : { ConfigurationSetName: configurationSet[1], ...found.set },
          );
      } else if (path === '/v2/email/outbound-emails' && request.method === 'POST') {
        const input = JSON.parse(body) as {
          FromEmailAddress: string;
          Destination: { ToAddresses: string[] };
          Content: {
            Raw?: { Data: string };
            Simple?: { Subject: { Data: string; Charset?: string }; Body: { Text: { Data: string; Charset?: string } } };
          };
          ConfigurationSetName?: string;
        };
        const simple = input.Content.Simple;
        const email: SentEmail = {
          from: input.FromEmailAddress,
          to: input.Destination.ToAddresses,
          raw: Buffer.from(input.Content.Raw?.Data ?? '', 'base64'),
          ...(input.ConfigurationSetName && { configurationSetName: input.ConfigurationSetName }),
          ...(simple && { simple: { subject: simple.Subject.Data, text: simple.Body.Text.Data, charset: simple.Body.Text.Charset } }),
        };
        record('sesv2', 'SendEmail', { ...input, ToAddresses: email.to });
        if (state.sendEmailError) {
          restError(state.sendEmailError.status, state.sendEmailError.type, state.sendEmailError.message);
          return true;
        }
        state.sentEmails.push(email);
        await state.onSendEmail(email);
        restJson(200, { MessageId: `0100018f${randomUUID().replace(/-/g, '')}-000000` });
      } else {
        restError(400, 'BadRequestException', `unsupported ${request.method} ${path}`);
      }
      return true;
    }

    // ---- SES v1 and SNS (awsQuery XML): told apart from CloudFormation by their API version
    if (!target && request.method === 'POST' && body.includes('Action=')) {
      const form = Object.fromEntries(new URLSearchParams(body));
      if (form.Version === '2010-12-01') {
        record('ses', form.Action!, form);
        const rules = state.receiptRules.handle(form.Action!, form);
        if (rules) response.writeHead(rules.status, { 'content-type': 'text/xml' }).end(rules.body);
        else sesQuery(form.Action!, response);
        return true;
      }
      if (form.Version === '2010-03-31') {
        record('sns', form.Action!, form);
        snsQuery(form.Action!, form, response);
        return true;
      }
      return false;
    }

    // ---- Cognito (JSON 1.1), SQS and CloudWatch (JSON 1.0)
    const json = (status: number, value: unknown, version: '1.0' | '1.1'): void => {
      response.writeHead(status, { 'content-type': `application/x-amz-json-${version}` }).end(JSON.stringify(value));
    };
    if (target.startsWith('AWSCognitoIdentityProviderService.')) {
      const action = target.slice(target.indexOf('.') + 1);
      const params = JSON.parse(body) as Record<string, string>;
      record('cognito', action, params);
      const userCall = state.cognitoUsers.handle(action, params);
      if (userCall) json(userCall.status, userCall.body, '1.1');
      else if (action === 'DescribeUserPoolDomain')
        json(200, { DomainDescription: state.userPoolDomains.get(params.Domain!) ?? {} }, '1.1');
      else if (action === 'DescribeIdentityProvider') {
        const provider = state.identityProviders.get(`${params.UserPoolId}/${params.ProviderName}`);
        if (provider) json(200, { IdentityProvider: provider }, '1.1');
        else json(400, { __type: 'ResourceNotFoundException', message: `Identity provider ${params.ProviderName} does not exist.` }, '1.1');
      } else if (!breakGlassCognito(action, params, json)) {
        json(400, { __type: 'InvalidParameterException', message: `unsupported action ${action}` }, '1.1');
      }
      return true;
    }
    if (target === 'AmazonSQS.GetQueueAttributes') {
      const params = JSON.parse(body) as { QueueUrl: string; AttributeNames: string[] };
      const attributes = state.queueAttributes.get(params.QueueUrl);
      // Queues a test declared with addQueue (the redrive tests) are answered by the main fake.
      if (!attributes) return false;
      record('sqs', 'GetQueueAttributes', params);
      json(200, { Attributes: Object.fromEntries(params.AttributeNames.map((name) => [name, attributes[name] ?? '0'])) }, '1.0');
      return true;
    }
    if (target.startsWith('GraniteServiceVersion20100801.')) {
      const action = target.slice(target.indexOf('.') + 1);
      const params = JSON.parse(body) as Record<string, unknown>;
      record('cloudwatch', action, params);
      if (action === 'DescribeAlarms') {
        const prefix = String(params.AlarmNamePrefix ?? '');
        json(200, { MetricAlarms: state.alarms.filter((alarm) => String(alarm.AlarmName).startsWith(prefix)) }, '1.0');
      } else if (action === 'GetMetricData') {
        const queries = params.MetricDataQueries as Array<{ Id: string }>;
        const now = Math.floor(Date.now() / 1000);
        json(
          200,
          {
            MetricDataResults: queries.map((query) => ({
              Id: query.Id,
              Label: query.Id,
              Timestamps: state.metricValues.map((_, index) => now - index * 300),
              Values: state.metricValues,
              StatusCode: 'Complete',
            })),
            Messages: [],
          },
          '1.0',
        );
      } else json(400, { __type: 'InvalidAction', message: `unsupported action ${action}` }, '1.0');
      return true;
    }
    return false;
  }

  // ---- Cognito for break-glass sign-in (issue 13): the pool's settings and its own users.
  // Errors as the API reference names them (ResourceNotFoundException, UserNotFoundException).
  function breakGlassCognito(
    action: string,
    params: Record<string, string>,
    json: (status: number, value: unknown, version: '1.1') => void,
  ): boolean {
    if (action === 'DescribeUserPool') {
      const pool = state.userPools.get(params.UserPoolId!);
      if (pool) json(200, { UserPool: { Id: params.UserPoolId, ...pool } }, '1.1');
      else json(400, { __type: 'ResourceNotFoundException', message: `User pool ${params.UserPoolId} does not exist.` }, '1.1');
      return true;
    }
    const cognitoError = (type: string, message: string) => json(400, { __type: type, message }, '1.1');
    const userKey = (pool: string, username: string) => `${pool}/${username.toLowerCase()}`;
    const byToken = (): FakeCognitoUser | undefined => {
      const key = state.accessTokens.get(params.AccessToken ?? '');
      return key === undefined ? undefined : state.poolUsers.get(key);
    };
    if (action === 'AdminCreateUser') {
      const key = userKey(params.UserPoolId!, params.Username!);
      if (state.poolUsers.has(key)) cognitoError('UsernameExistsException', 'User account already exists');
      else {
        const user: FakeCognitoUser = {
          Username: params.Username!,
          Enabled: true,
          UserStatus: 'FORCE_CHANGE_PASSWORD',
          Attributes: (params.UserAttributes as unknown as FakeCognitoUser['Attributes']) ?? [],
          UserMFASettingList: [],
        };
        state.poolUsers.set(key, user);
        json(200, { User: { Username: user.Username, Enabled: true, UserStatus: user.UserStatus, Attributes: user.Attributes } }, '1.1');
      }
      return true;
    }
    if (action === 'AdminSetUserPassword') {
      const user = state.poolUsers.get(userKey(params.UserPoolId!, params.Username!));
      if (!user) cognitoError('UserNotFoundException', 'User does not exist.');
      else {
        user.password = params.Password!;
        if ((params as Record<string, unknown>).Permanent === true) user.UserStatus = 'CONFIRMED';
        json(200, {}, '1.1');
      }
      return true;
    }
    if (action === 'InitiateAuth') {
      // USER_AUTH with the password as the preferred first factor: tokens unless MFA is active.
      const auth = (params as unknown as { AuthParameters: Record<string, string> }).AuthParameters ?? {};
      const pool = [...state.userPools.keys()][0]!;
      const key = userKey(pool, auth.USERNAME ?? '');
      const user = state.poolUsers.get(key);
      if (params.AuthFlow !== 'USER_AUTH' || auth.PREFERRED_CHALLENGE !== 'PASSWORD') {
        cognitoError('InvalidParameterException', 'the fake knows USER_AUTH with PREFERRED_CHALLENGE PASSWORD only');
        return true;
      }
      void (async () => {
        try {
          await state.preAuthentication?.({
            version: '1',
            triggerSource: 'PreAuthentication_Authentication',
            region: pool.split('_')[0],
            userPoolId: pool,
            userName: user?.Username ?? auth.USERNAME,
            callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: params.ClientId },
            request: {
              userAttributes: user ? { 'cognito:user_status': user.UserStatus } : {},
              validationData: {},
              ...(!user && { userNotFound: true }),
            },
            response: {},
          });
        } catch (error) {
          cognitoError('UserLambdaValidationException', `PreAuthentication failed with error ${(error as Error).message}.`);
          return;
        }
        if (!user || user.password === undefined || user.password !== auth.PASSWORD || !user.Enabled) {
          cognitoError('NotAuthorizedException', 'Incorrect username or password.');
        } else if (user.UserMFASettingList.includes('SOFTWARE_TOKEN_MFA')) {
          json(200, { ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 'fake-session', ChallengeParameters: {} }, '1.1');
        } else {
          const accessToken = `access-${randomUUID()}`;
          state.accessTokens.set(accessToken, key);
          json(
            200,
            {
              AuthenticationResult: {
                AccessToken: accessToken,
                RefreshToken: `refresh-${randomUUID()}`,
                ExpiresIn: 900,
                TokenType: 'Bearer',
              },
              ChallengeParameters: {},
            },
            '1.1',
          );
        }
      })();
      return true;
    }
    if (action === 'AssociateSoftwareToken') {
      const user = byToken();
      if (!user) cognitoError('NotAuthorizedException', 'Invalid Access Token');
      else {
        user.pendingTotpSecret = new Secret({ size: 20 }).base32;
        json(200, { SecretCode: user.pendingTotpSecret }, '1.1');
      }
      return true;
    }
    if (action === 'VerifySoftwareToken') {
      const user = byToken();
      if (!user?.pendingTotpSecret) cognitoError('NotAuthorizedException', 'Invalid Access Token');
      else if (new TOTP({ secret: Secret.fromBase32(user.pendingTotpSecret) }).validate({ token: params.UserCode!, window: 1 }) === null) {
        cognitoError('EnableSoftwareTokenMFAException', 'Code mismatch');
      } else {
        user.totpSecret = user.pendingTotpSecret;
        delete user.pendingTotpSecret;
        json(200, { Status: 'SUCCESS' }, '1.1');
      }
      return true;
    }
    if (action === 'SetUserMFAPreference') {
      const user = byToken();
      const settings = (params as unknown as { SoftwareTokenMfaSettings?: { Enabled?: boolean; PreferredMfa?: boolean } })
        .SoftwareTokenMfaSettings;
      if (!user) cognitoError('NotAuthorizedException', 'Invalid Access Token');
      else if (settings?.Enabled && !user.totpSecret) cognitoError('InvalidParameterException', 'User has not verified software token mfa');
      else {
        if (settings?.Enabled && !user.UserMFASettingList.includes('SOFTWARE_TOKEN_MFA'))
          user.UserMFASettingList.push('SOFTWARE_TOKEN_MFA');
        if (settings?.PreferredMfa) user.PreferredMfaSetting = 'SOFTWARE_TOKEN_MFA';
        json(200, {}, '1.1');
      }
      return true;
    }
    if (action === 'RevokeToken') {
      json(200, {}, '1.1');
      return true;
    }
    if (action === 'AdminGetUser') {
      if (!state.userPools.has(params.UserPoolId!)) {
        json(400, { __type: 'ResourceNotFoundException', message: `User pool ${params.UserPoolId} does not exist.` }, '1.1');
        return true;
      }
      const user = state.poolUsers.get(`${params.UserPoolId}/${String(params.Username).toLowerCase()}`);
      if (!user) json(400, { __type: 'UserNotFoundException', message: 'User does not exist.' }, '1.1');
      else {
        const { UserMFASettingList, password: _password, pendingTotpSecret: _pending, totpSecret: _secret, ...rest } = user;
        json(200, { ...rest, ...(UserMFASettingList.length > 0 && { UserMFASettingList }) }, '1.1');
      }
      return true;
    }
    return false;
  }

  function sesQuery(action: string, response: ServerResponse): void {
    const xmlns = 'http://ses.amazonaws.com/doc/2010-12-01/';
    if (action !== 'DescribeActiveReceiptRuleSet') {
      response.writeHead(400, { 'content-type': 'text/xml' }).end(queryError(xmlns, 'InvalidAction', `unsupported action ${action}`));
      return;
    }
    const active = state.activeRuleSet;
    const result = active
      ? `<Metadata><Name>${xml(active.name)}</Name><CreatedTimestamp>2030-01-01T00:00:00Z</CreatedTimestamp></Metadata><Rules>${active.rules
          .map(
            (rule) =>
              `<member><Name>${xml(rule.Name)}</Name><Enabled>${rule.Enabled}</Enabled><ScanEnabled>true</ScanEnabled><TlsPolicy>Optional</TlsPolicy></member>`,
          )
          .join('')}</Rules>`
      : '';
    response
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<DescribeActiveReceiptRuleSetResponse xmlns="${xmlns}"><DescribeActiveReceiptRuleSetResult>${result}</DescribeActiveReceiptRuleSetResult>` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeActiveReceiptRuleSetResponse>`,
      );
  }

  function snsQuery(action: string, form: Record<string, string>, response: ServerResponse): void {
    const xmlns = 'http://sns.amazonaws.com/doc/2010-03-31/';
    if (smsQuery(action, form, response, xmlns)) return;
    const subscriptions = state.subscriptions.get(form.TopicArn ?? '');
    if (action !== 'ListSubscriptionsByTopic' || !subscriptions) {
      response
        .writeHead(action === 'ListSubscriptionsByTopic' ? 404 : 400, { 'content-type': 'text/xml' })
        .end(
          queryError(
            xmlns,
            action === 'ListSubscriptionsByTopic' ? 'NotFound' : 'InvalidAction',
            action === 'ListSubscriptionsByTopic' ? 'Topic does not exist' : `unsupported action ${action}`,
          ),
        );
      return;
    }
    const members = subscriptions
      .map(
        (s) =>
          `<member><TopicArn>${xml(form.TopicArn!)}</TopicArn><Protocol>${xml(s.Protocol)}</Protocol><SubscriptionArn>${xml(s.SubscriptionArn)}</SubscriptionArn><Owner>123456789012</Owner><Endpoint>${xml(s.Endpoint)}</Endpoint></member>`,
      )
      .join('');
    response
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<ListSubscriptionsByTopicResponse xmlns="${xmlns}"><ListSubscriptionsByTopicResult><Subscriptions>${members}</Subscriptions></ListSubscriptionsByTopicResult>` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></ListSubscriptionsByTopicResponse>`,
      );
  }

  // ---- failover notices (notices helper): SNS Publish to a phone number, GetSMSSandboxAccountStatus, GetSMSAttributes
  function smsQuery(action: string, form: Record<string, string>, response: ServerResponse, xmlns: string): boolean {
    const answer = (result: string) =>
      response
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<${action}Response xmlns="${xmlns}"><${action}Result>${result}</${action}Result>` +
            `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
        );
    if (action === 'Publish' && form.PhoneNumber !== undefined) {
      const attributes: Record<string, string> = {};
      for (let i = 1; form[`MessageAttributes.entry.${i}.Name`] !== undefined; i += 1) {
        attributes[form[`MessageAttributes.entry.${i}.Name`]!] = form[`MessageAttributes.entry.${i}.Value.StringValue`] ?? '';
      }
      const error = state.sms.publishError;
      if (error) {
        response.writeHead(error.status, { 'content-type': 'text/xml' }).end(queryError(xmlns, error.code, error.message));
        return true;
      }
      state.sms.published.push({ phoneNumber: form.PhoneNumber, message: form.Message ?? '', attributes });
      answer(`<MessageId>${randomUUID()}</MessageId>`);
      return true;
    }
    if (action === 'GetSMSSandboxAccountStatus') {
      answer(`<IsInSandbox>${state.sms.inSandbox}</IsInSandbox>`);
      return true;
    }
    if (action === 'GetSMSAttributes') {
      const entries = Object.entries(state.sms.attributes)
        .map(([key, value]) => `<entry><key>${xml(key)}</key><value>${xml(value)}</value></entry>`)
        .join('');
      answer(`<attributes>${entries}</attributes>`);
      return true;
    }
    return false;
  }
  // ---- end failover notices

  return { state, handle };
}

function queryError(xmlns: string, code: string, message: string): string {
  return `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}
