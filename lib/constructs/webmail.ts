// The emergency webmail in AWS (stateless stack): the failover-flag parameter, the
// session signing secret, a Cognito user pool federated to the customer's one IdP
// (AD FS by SAML or Entra ID by OIDC) that also holds the break-glass accounts (staff
// signing in by SMS code, a few admins with password + TOTP; docs/deploy.md §7.4, §7.6),
// with a managed-login domain, a public PKCE client and the sign-in trigger, and an
// HTTP API whose $default route runs the Hono app of lambdas/entry/webmail.ts. The function gets exactly the calls its adapters
// make on the stateful stack's table, bucket, key and resend queue, and sends
// through SES with the configuration set it is given. Outputs name
// what the IdP administrator and the runbook need.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as apigwv1 from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ORIGIN_SECRET_HEADER } from '../../lambdas/contract/edge.ts';
import { ENV, formatNoticeChannels, formatQueueUrls, WEB_ENV } from '../../lambdas/contract/environment.ts';
import { DIRECTORY_ID_ATTRIBUTE, DIRECTORY_ID_CLAIM } from '../../lambdas/contract/sign-in.ts';
import { CONFIG_CONTEXT_KEY, type ShadowmailConfig, ShadowmailConfigError } from '../config.ts';
import { ROUTE_KEYS } from '../webmail-rate-limits.ts';
import { MailFunction } from './mail-function.ts';
import { SignInTrigger } from './sign-in-trigger.ts';
import { grantTableAccess, TABLE_ACCESS } from './table-access.ts';

/** What the webmail writes into the flag parameter before any admin has switched it: normal operation. */
export const INITIAL_FAILOVER_VALUE = JSON.stringify({ on: false });

// An HTTP API waits at most 30 s for its integration: the function stops first, so a
// slow request ends as the function's own error, not as work going on behind a 503.
export const WEBMAIL_LIMITS = { timeout: Duration.seconds(29), memoryMiB: 1024 };

// Every sign-in verifies the ID token once and then lives in the app's own 8 h
// session cookie: the tokens only have to survive the code exchange.
const TOKEN_VALIDITY = { idToken: Duration.minutes(15), accessToken: Duration.minutes(15), refreshToken: Duration.minutes(60) };

export interface WebmailProps {
  config: ShadowmailConfig;
  /** The message table (stateful stack); trace also queries its lookup index. */
  table: dynamodb.ITable;
  /** The raw-mail bucket: received mail (raw/), Sent copies (sent/), download links (downloads/), drafts and their uploaded files (uploads/). */
  rawBucket: s3.IBucket;
  /** The bucket's KMS key: reading needs Decrypt, writing Sent copies and downloads GenerateDataKey. */
  rawKey: kms.IKey;
  /** Bulk and single resends are queued here by the admin console. */
  resendQueue: sqs.IQueue;
  /** RawMailBucket.webmailPolicy: raw mail, Sent copies, downloads and uploads in the bucket, and its key. */
  mailObjectsPolicy: iam.IManagedPolicy;
  /** SES identities the webmail may send from (the mail domains' identities). */
  sesIdentityArns: string[];
  /** The SES configuration set every webmail message is sent with (WebmailSending). */
  sesConfigurationSet: { name: string; arn: string };
  /** Where a SAML metadata file named in the configuration is read from; defaults to process.cwd(). */
  cwd?: string;
  /** With webmail.waf: the CloudFront web ACL (lib/stacks/edge-stack.ts, us-east-1). */
  webAclArn?: string;
}

export class Webmail extends Construct {
  /** `/<stackId>/failover`: the switch staff and the CLI flip during an outage. */
  readonly failoverParameter: ssm.StringParameter;
  readonly sessionSecret: secretsmanager.Secret;
  readonly userPool: cognito.UserPool;
  readonly identityProvider: cognito.UserPoolIdentityProviderSaml | cognito.UserPoolIdentityProviderOidc;
  readonly userPoolDomain: cognito.UserPoolDomain;
  readonly userPoolClient: cognito.UserPoolClient;
  /** Cognito's default managed-login style for the webmail client. */
  readonly managedLoginBranding: cognito.CfnManagedLoginBranding;
  /** Cognito → SNS for the staff sign-in codes. */
  readonly smsRole: iam.Role;
  readonly smsRoleExternalId: string;
  /** Pre-/post-authentication: the break-glass rules and their audit. */
  readonly signInTrigger: SignInTrigger;
  readonly adminGroup: cognito.UserPoolGroup;
  /** https://<prefix>.auth.<region>.amazoncognito.com */
  readonly cognitoBaseUrl: string;
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly customDomain?: apigw.DomainName;
  /** With webmail.waf: CloudFront in front of the API, and the secret header it adds that the function requires. */
  readonly distribution?: cloudfront.Distribution;
  readonly originSecret?: secretsmanager.Secret;
  /** https://<customDomain>, the CloudFront domain (webmail.waf) or the API's execute-api endpoint; no trailing slash. */
  readonly publicUrl: string;
  readonly function: MailFunction;
  /** The S3 object grants (prefixes of the raw-mail bucket); the role's default policy holds the rest. */
  readonly mailObjectsPolicy: iam.IManagedPolicy;

  constructor(scope: Construct, id: string, props: WebmailProps) {
    super(scope, id);
    const { config } = props;

    // Never change this parameter's properties (value, description, type, tier, and
    // tags, including app-wide ones) or its construct path. CloudFormation writes the template's value again whenever
    // it updates the resource, so a deploy during an outage would silently switch an
    // admin's `failover on` back to off and lock every user out of the webmail. With
    // unchanged properties CloudFormation leaves it alone and the admin's value stays.
    this.failoverParameter = new ssm.StringParameter(this, 'FailoverFlag', {
      parameterName: `/${config.stackId}/failover`,
      stringValue: INITIAL_FAILOVER_VALUE,
      description: 'shadowmail failover flag: when on, staff sign in to the webmail',
      tier: ssm.ParameterTier.STANDARD,
    });

    this.sessionSecret = new secretsmanager.Secret(this, 'SessionSecret', {
      description: 'shadowmail webmail: session cookie and link signing key',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.sessionSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The key signs session cookies and short-lived cid:/download links; each function instance caches it for 5 minutes, so a rotation would sign users out and break links at random during an outage. It never leaves the account; replace it deliberately (put-secret-value) if it leaks.',
    });

    const { breakGlass } = config;
    // Cognito → SNS for the staff codes: a role only Cognito may assume, only with the
    // external id, only for a user pool of this account (confused-deputy conditions as the
    // Cognito developer guide shows them for the SMS role:
    // https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-sms-settings.html).
    // The pool's own ARN cannot be named here (the pool names this role): userpool/* of this
    // account and region.
    this.smsRoleExternalId = `${config.stackId}-webmail-sms`;
    const stack = Stack.of(this);
    this.smsRole = new iam.Role(this, 'SmsRole', {
      description: 'shadowmail webmail: Cognito sends the break-glass sign-in codes by SMS through SNS',
      assumedBy: new iam.ServicePrincipal('cognito-idp.amazonaws.com', {
        conditions: {
          StringEquals: { 'sts:ExternalId': this.smsRoleExternalId, 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cognito-idp', resource: 'userpool', resourceName: '*' }) },
        },
      }),
      inlinePolicies: {
        SmsOnly: new iam.PolicyDocument({
          statements: [
            // An SMS to a phone number has no resource ARN: Publish must be allowed on "*"
            // (Service Authorization Reference, Amazon SNS: Publish, resource topic optional) …
            new iam.PolicyStatement({ actions: ['sns:Publish'], resources: ['*'] }),
            // … and is then denied for every topic, so the role can send SMS and nothing else.
            new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['sns:Publish'], resources: ['arn:*:sns:*:*:*'] }),
          ],
        }),
      },
    });
    Validations.of(this.smsRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'sns:Publish to a phone number has no resource ARN, so Cognito needs it on "*"; a Deny on every topic ARN leaves only SMS, and the trust policy admits only Cognito with the external id for a pool of this account.',
    });

    // Settings an existing pool takes in place (CloudFormation "Update requires: No
    // interruption" for MfaConfiguration, EnabledMfas, Policies.SignInPolicy,
    // SmsConfiguration, WebAuthnRelyingPartyID, WebAuthnUserVerification, LambdaConfig,
    // UserPoolTier: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpool.html).
    // Nothing here may ever need a replacement: a new pool breaks the IdP's trust (SAML
    // entity id) and drops the break-glass accounts — hence deletionProtection and RETAIN.
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${config.stackId}-webmail`,
      // Nobody signs up: staff accounts come from `shadowmail directory sync`, admin accounts from the runbook (§7.6).
      selfSignUpEnabled: false,
      // phone_number (the staff code's destination) is a standard attribute every pool has,
      // optional and mutable; it is not listed, because a changed Schema is the one part of an
      // existing pool Cognito will not update (required flags and existing attributes are fixed:
      // https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html).
      standardAttributes: { email: { required: true, mutable: true } },
      // The directory's immutable id of a federated user, mapped from the IdP when configured;
      // mutable because Cognito rewrites mapped attributes at every federated sign-in.
      customAttributes: { [DIRECTORY_ID_ATTRIBUTE]: new cognito.StringAttribute({ minLen: 1, maxLen: 256, mutable: true }) },
      signInCaseSensitive: false,
      accountRecovery: cognito.AccountRecovery.NONE,
      // Choice-based sign-in (the USER_AUTH flow, Essentials plan and up): password for the
      // break-glass admins, an SMS code for staff (unless breakGlass.staffSmsCodes is false),
      // and passkeys. Cognito does not offer passwordless first factors in a pool whose MFA is
      // required, nor to a user who has MFA active
      // (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa.html#user-pool-settings-mfa-prerequisites),
      // so MFA is OPTIONAL, TOTP the only second factor, and the sign-in trigger refuses a
      // break-glass admin without TOTP: their second factor stays mandatory.
      signInPolicy: { allowedFirstAuthFactors: { password: true, smsOtp: breakGlass.staffSmsCodes, passkey: true } },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false, email: false },
      // Passkeys belong to the sign-in domain: the prefix domain, as there is no custom Cognito
      // domain (the relying party must be the custom domain only when the pool has one:
      // https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_WebAuthnConfigurationType.html).
      // User verification (PIN, biometrics) required: a passkey alone is then two factors.
      passkeyRelyingPartyId: `${config.webmail.cognitoDomainPrefix}.auth.${stack.region}.amazoncognito.com`,
      passkeyUserVerification: cognito.PasskeyUserVerification.REQUIRED,
      smsRole: this.smsRole,
      smsRoleExternalId: this.smsRoleExternalId,
      ...cognitoSmsRegion(config.region),
      // Users are created with MessageAction SUPPRESS by the directory sync: no invitation is
      // ever sent, so no invitation template is set.
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(1),
      },
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      // The pool holds no mail, but its id is in the IdP's trust (SAML entity id) and
      // it holds the admin group's members: a replaced pool breaks sign-in exactly when
      // the webmail is needed. Deleting it is a deliberate step of the runbook's teardown.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The Plus plan adds threat protection for Cognito password sign-ins. Federated users are protected by AD FS / Entra ID; the native accounts are staff signing in by SMS code only while failover is on (checked by the sign-in trigger) and a few break-glass admins whose TOTP the trigger requires; Plus would add cost per user for little.',
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is OPTIONAL because Cognito offers passwordless first factors (the staff SMS code, passkeys) only then; the sign-in trigger refuses a break-glass admin without TOTP, so every admin sign-in still has a second factor, and staff accounts are created without a password (directory sync), signing in only by code while failover is on.',
    });

    this.identityProvider = this.federate(config, props.cwd ?? process.cwd());

    this.userPoolDomain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: config.webmail.cognitoDomainPrefix },
      // Managed login (not the classic hosted UI): the page that offers the IdP button and
      // the username field for choice-based sign-in on one page
      // (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-managed-login.html).
      // ManagedLoginVersion changes in place ("Update requires: No interruption").
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    this.cognitoBaseUrl = this.userPoolDomain.baseUrl();

    this.adminGroup = this.userPool.addGroup('AdminGroup', {
      groupName: config.adminGroup,
      description: 'shadowmail admins: trace, resend, failover switch and audit (cognito:groups claim)',
    });

    // The HTTP API: one $default route to the function, which authenticates itself.
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const custom = config.webmail.customDomain;
    const waf = config.webmail.waf;
    // With WAF, CloudFront serves the own name (lib/config.ts requires its us-east-1 certificate).
    if (custom && !waf.enabled) {
      this.customDomain = new apigw.DomainName(this, 'CustomDomain', {
        domainName: custom.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', custom.certificateArn),
        securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      });
    }
    this.httpApi = new apigw.HttpApi(this, 'Api', {
      apiName: `${config.stackId}-webmail`,
      description: 'shadowmail emergency webmail',
      createDefaultStage: false,
      // With an own host name the execute-api URL would be a second origin that the
      // Cognito callback and the CSRF origin check do not accept: switched off — unless it is
      // CloudFront's origin (webmail.waf), where the origin secret keeps everyone else out.
      disableExecuteApiEndpoint: custom !== undefined && !waf.enabled,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      // $default (reading mail): what no route of its own takes (lib/webmail-rate-limits.ts).
      throttle: { rateLimit: config.webmail.rateLimits.read.ratePerSecond, burstLimit: config.webmail.rateLimits.read.burst },
      // JSON lines without the query string: /auth/callback carries the OAuth code there.
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: apigwv1.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
      ...(this.customDomain && { domainMapping: { domainName: this.customDomain } }),
    });
    if (waf.enabled) {
      if (props.webAclArn === undefined) throw new Error('webmail.waf is enabled but no web ACL was given (lib/stacks/edge-stack.ts)');
      this.originSecret = new secretsmanager.Secret(this, 'OriginSecret', {
        description: 'shadowmail webmail: the header CloudFront adds, so requests around the WAF are refused',
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      Validations.of(this.originSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'CloudFront reads the value once per deployment (a dynamic reference in its origin); a rotation would refuse every request until the next deploy. Replace it by a deploy after put-secret-value if it leaks.',
      });
      const alias = custom && waf.certificateArn ? { domainName: custom.domainName, certificateArn: waf.certificateArn } : undefined;
      this.distribution = this.cloudFront(props.webAclArn, this.originSecret, alias);
    }
    this.publicUrl = custom
      ? `https://${custom.domainName}`
      : this.distribution
        ? `https://${this.distribution.distributionDomainName}`
        : this.httpApi.apiEndpoint;

    this.userPoolClient = this.userPool.addClient('WebmailClient', {
      userPoolClientName: `${config.stackId}-webmail`,
      // A public client: the webmail proves itself with PKCE, so no secret to keep.
      generateSecret: false,
      // USER_AUTH only (choice-based sign-in: SMS code, passkey, password + TOTP); no other
      // password flow. The refresh flow is one Cognito always keeps.
      authFlows: { user: true, userSrp: false },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [`${this.publicUrl}/auth/callback`],
        logoutUrls: [`${this.publicUrl}/`],
      },
      // The IdP for every normal day; COGNITO for the pool's own accounts when the IdP is down.
      supportedIdentityProviders: [
        cognito.UserPoolClientIdentityProvider.COGNITO,
        cognito.UserPoolClientIdentityProvider.custom(this.identityProvider.providerName),
      ],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: TOKEN_VALIDITY.idToken,
      accessTokenValidity: TOKEN_VALIDITY.accessToken,
      refreshTokenValidity: TOKEN_VALIDITY.refreshToken,
    });

    // Managed login needs a style for the client; Cognito's own (UseCognitoProvidedValues).
    this.managedLoginBranding = new cognito.CfnManagedLoginBranding(this, 'ManagedLoginBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.userPoolClient.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    this.signInTrigger = new SignInTrigger(this, 'SignInTrigger', {
      userPool: this.userPool,
      table: props.table,
      failoverParameter: this.failoverParameter,
      admins: breakGlass.admins.map((admin) => admin.username),
      staffSmsCodes: breakGlass.staffSmsCodes,
    });

    this.function = new MailFunction(this, 'Function', {
      entry: 'lambdas/entry/webmail.ts',
      description: 'shadowmail webmail: failover status page, mailbox and admin console',
      timeout: WEBMAIL_LIMITS.timeout,
      memoryMiB: WEBMAIL_LIMITS.memoryMiB,
      // During an outage staff must get in even while a spam burst fills the ingest queue.
      reservedConcurrency: config.webmail.reservedConcurrency,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.retentionDays]: String(config.retentionDays),
        [ENV.stackId]: config.stackId,
        [ENV.resendQueueUrl]: props.resendQueue.queueUrl,
      },
    });
    // MailFunction takes only the pipeline contract's names; the webmail's own come here.
    const webEnvironment: Partial<Record<(typeof WEB_ENV)[keyof typeof WEB_ENV], string>> = {
      [WEB_ENV.failoverParameter]: this.failoverParameter.parameterName,
      [WEB_ENV.userPoolId]: this.userPool.userPoolId,
      [WEB_ENV.userPoolClientId]: this.userPoolClient.userPoolClientId,
      [WEB_ENV.cognitoDomain]: this.cognitoBaseUrl,
      [WEB_ENV.publicUrl]: this.publicUrl,
      [WEB_ENV.sessionSecretArn]: this.sessionSecret.secretArn,
      ...(this.originSecret && { [WEB_ENV.originSecretArn]: this.originSecret.secretArn }),
      [WEB_ENV.adminGroup]: config.adminGroup,
      [WEB_ENV.timeZone]: config.webmail.timeZone,
      [WEB_ENV.sendMessagesPerHour]: String(config.webmail.sendLimits.messagesPerHour),
      [WEB_ENV.sendRecipientsPerHour]: String(config.webmail.sendLimits.recipientsPerHour),
      [WEB_ENV.sendMessagesPerDay]: String(config.webmail.sendLimits.messagesPerDay),
      [WEB_ENV.sendRecipientsPerDay]: String(config.webmail.sendLimits.recipientsPerDay),
      [WEB_ENV.rawBucket]: props.rawBucket.bucketName,
      [WEB_ENV.sesConfigurationSet]: props.sesConfigurationSet.name,
      // Admins without the directory: native accounts of the pool (password + TOTP), named in the config.
      [WEB_ENV.breakGlassAdmins]: breakGlass.admins.map((admin) => admin.username).join(','),
    };
    for (const [name, value] of Object.entries(webEnvironment)) this.function.function.addEnvironment(name, value);

    this.mailObjectsPolicy = this.grantWebmailAccess(props);

    const integration = new HttpLambdaIntegration('Webmail', this.function.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    const route = new apigw.HttpRoute(this, 'DefaultRoute', { httpApi: this.httpApi, routeKey: apigw.HttpRouteKey.DEFAULT, integration });
    const routes = [route, ...this.limitedRoutes(config, integration)];
    for (const each of routes) {
      Validations.of(each).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The webmail authenticates every request itself (OIDC code + PKCE against this user pool, a signed session cookie, CSRF tokens) and must answer the failover status page and the sign-in redirect to anonymous browsers; an API Gateway authorizer cannot do either.',
      });
    }

    this.outputs(config);
    this.failoverNotices(config);
  }

  /**
   * CloudFront in front of the HTTP API with the WAF web ACL (webmail.waf): nothing cached
   * (every page is per user), every viewer header but Host forwarded (API Gateway answers
   * only to its own host name), cookies and query strings included. The origin header
   * carries the generated secret as a dynamic reference, so the template never holds it.
   */
  private cloudFront(
    webAclArn: string,
    originSecret: secretsmanager.Secret,
    alias: { domainName: string; certificateArn: string } | undefined,
  ): cloudfront.Distribution {
    const stack = Stack.of(this);
    const apiHost = `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'shadowmail webmail behind WAF',
      defaultBehavior: {
        origin: new origins.HttpOrigin(apiHost, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
          customHeaders: { [ORIGIN_SECRET_HEADER]: originSecret.secretValue.unsafeUnwrap() },
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
      webAclId: webAclArn,
      // North America and Europe only: the cheapest class; staff elsewhere are still served, from those edges.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(alias && {
        domainNames: [alias.domainName],
        certificate: acm.Certificate.fromCertificateArn(this, 'DistributionCertificate', alias.certificateArn),
        minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      }),
    });
    const acknowledgements: Array<[string, string]> = [
      ['AwsSolutions-CFR1', 'No geo restriction: staff read mail from wherever they are during an outage (travel, home office abroad).'],
      [
        'AwsSolutions-CFR3',
        "No CloudFront access log bucket: every request that passes reaches the API's access log (ip, path, status), and WAF's metrics and sampled requests show what it blocked.",
      ],
    ];
    if (!alias) {
      acknowledgements.push([
        'AwsSolutions-CFR4',
        'Without webmail.customDomain the distribution serves its own *.cloudfront.net name, whose certificate CloudFront manages; a minimum TLS version can only be set with an own certificate.',
      ]);
    }
    for (const [id, reason] of acknowledgements) {
      Validations.of(distribution).acknowledge({ id, reason });
    }
    return distribution;
  }

  /**
   * The expensive and the anonymous routes, each on the same function but with a throttle
   * of its own (RouteSettings of the stage, config webmail.rateLimits): a flood on one
   * answers 429 there and leaves the read budget of $default alone. The stage waits for
   * the routes: route settings may only name route keys that exist.
   */
  private limitedRoutes(config: ShadowmailConfig, integration: HttpLambdaIntegration): apigw.HttpRoute[] {
    const routes: apigw.HttpRoute[] = [];
    const settings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const [group, keys] of Object.entries(ROUTE_KEYS) as [keyof typeof ROUTE_KEYS, readonly string[]][]) {
      const limit = config.webmail.rateLimits[group];
      for (const key of keys) {
        const [method, path] = key.split(' ') as [string, string];
        const routeKey = apigw.HttpRouteKey.with(path, method as apigw.HttpMethod);
        const id = `Route${group[0]!.toUpperCase()}${group.slice(1)}${routes.length}`;
        routes.push(new apigw.HttpRoute(this, id, { httpApi: this.httpApi, routeKey, integration }));
        settings[key] = { ThrottlingRateLimit: limit.ratePerSecond, ThrottlingBurstLimit: limit.burst };
      }
    }
    const stage = this.stage.node.defaultChild as apigw.CfnStage;
    stage.routeSettings = settings;
    for (const route of routes) stage.addResourceDependency(route.node.defaultChild as apigw.CfnRoute);
    return routes;
  }

  /**
   * Failover notices to staff (config breakGlass.notices; core/staff-notices.ts), sent by
   * the admin console's switch: the channels and the sender in the function's environment
   * and as outputs (`failover --notify --stack` reads them). Mail goes through the SES
   * grant above (the sender is at a mail domain). SMS is an SNS Publish to a phone number,
   * which IAM authorizes only on resource "*" (no topic ARN is involved: "IAM policies for
   * Amazon SNS", https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html), so the
   * grant exists only when SMS notices are configured; likewise ses:GetAccount for mail.
   */
  private failoverNotices(config: ShadowmailConfig): void {
    const { notices } = config.breakGlass;
    const channels = formatNoticeChannels(notices);
    const sender = noticeSender(config);
    this.function.function.addEnvironment(WEB_ENV.noticeChannels, channels);
    this.function.function.addEnvironment(WEB_ENV.noticeSender, sender);
    // SMS: Publish to a phone number. Mail: GetAccount for the account's sending rate (the
    // notices' token bucket; ses:GetAccount has no resource type). Both authorize only "*".
    const actions = [...(notices.sms ? ['sns:Publish'] : []), ...(notices.email ? ['ses:GetAccount'] : [])];
    if (actions.length > 0) {
      // A policy of its own, so the acknowledgement below covers these statements and no later grant.
      const policy = new iam.Policy(this, 'NoticePolicy', { statements: [new iam.PolicyStatement({ actions, resources: ['*'] })] });
      this.function.role.attachInlinePolicy(policy);
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'An SMS published straight to a phone number names no SNS resource and ses:GetAccount has none, so IAM authorizes both only on "*"; the statement exists only with breakGlass.notices configured, and the webmail sends notices only when an admin asks.',
      });
    }
    for (const [id, value, description] of [
      ['NoticeChannels', channels, 'Failover notice channels (breakGlass.notices): sms, email, sms,email or none'],
      ['NoticeSender', sender, 'Sender of failover notice mail (an address at the first mail domain)'],
    ] as const) {
      new CfnOutput(this, id, { value, description }).overrideLogicalId(id);
    }
  }

  /**
   * The one IdP of the configuration, with the user's address mapped to `email` (and, when configured, their
   * objectGUID; Cognito names custom attributes `custom:<name>` in a mapping, which CDK passes on as given).
   */
  private federate(config: ShadowmailConfig, cwd: string): cognito.UserPoolIdentityProviderSaml | cognito.UserPoolIdentityProviderOidc {
    const idp = config.identityProvider;
    if (idp.type === 'saml') {
      const metadata =
        idp.metadataUrl !== undefined
          ? cognito.UserPoolIdentityProviderSamlMetadata.url(idp.metadataUrl)
          : cognito.UserPoolIdentityProviderSamlMetadata.file(readSamlMetadata(idp.metadataFile!, cwd));
      return new cognito.UserPoolIdentityProviderSaml(this, 'IdentityProvider', {
        userPool: this.userPool,
        name: idp.name,
        metadata,
        attributeMapping: {
          email: cognito.ProviderAttribute.other(idp.emailAttribute),
          ...(idp.directoryIdAttribute && {
            custom: { [DIRECTORY_ID_CLAIM]: cognito.ProviderAttribute.other(idp.directoryIdAttribute) },
          }),
        },
      });
    }
    return new cognito.UserPoolIdentityProviderOidc(this, 'IdentityProvider', {
      userPool: this.userPool,
      name: idp.name,
      issuerUrl: idp.issuer,
      clientId: idp.clientId,
      // A dynamic reference: CloudFormation reads the secret at deploy time, the template never holds it.
      clientSecret: SecretValue.secretsManager(idp.clientSecretArn).unsafeUnwrap(),
      scopes: ['openid', 'email', 'profile'],
      attributeRequestMethod: cognito.OidcAttributeRequestMethod.GET,
      attributeMapping: {
        email: cognito.ProviderAttribute.other(idp.emailClaim),
        ...(idp.directoryIdClaim && { custom: { [DIRECTORY_ID_CLAIM]: cognito.ProviderAttribute.other(idp.directoryIdClaim) } }),
      },
    });
  }

  /**
   * Exactly the calls of the webmail's adapters: table items, each held to its partitions
   * (TABLE_ACCESS.webmail), and the lookup index (trace), raw mail read and Sent copies / download links written under their
   * prefixes, the bucket key for both, sending from the mail domains, the flag
   * parameter, the session secret, and the resend queue.
   */
  private grantWebmailAccess(props: WebmailProps): iam.IManagedPolicy {
    const role = this.function.role;
    const { table } = props;
    grantTableAccess(role, table, TABLE_ACCESS.webmail);
    // SES v2 SendEmail with raw content is authorized as both actions, on the identity and, when the
    // message names one, on the configuration set too (Service Authorization Reference, Amazon SES v2:
    // SendEmail, resource types identity* and configuration-set).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [...props.sesIdentityArns, props.sesConfigurationSet.arn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter', 'ssm:PutParameter'], resources: [this.failoverParameter.parameterArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.sessionSecret.secretArn, ...(this.originSecret ? [this.originSecret.secretArn] : [])],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.resendQueue.queueArn] }));

    // The bucket's objects and key: a managed policy of the stateful stack, where its
    // prefix wildcards are acknowledged; the function waits for the attachment.
    role.addManagedPolicy(props.mailObjectsPolicy);
    return props.mailObjectsPolicy;
  }

  /**
   * The admin console's first page (issue 16): the forward queue's backlog and the depths of
   * the dead-letter queues, each one GetQueueAttributes call on exactly these queues
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html).
   */
  showQueueDepths(forwardQueue: sqs.IQueue, deadLetterQueues: Record<string, sqs.IQueue>): void {
    const fn = this.function.function;
    fn.addEnvironment(ENV.forwardQueueUrl, forwardQueue.queueUrl);
    fn.addEnvironment(
      WEB_ENV.deadLetterQueueUrls,
      formatQueueUrls(Object.fromEntries(Object.entries(deadLetterQueues).map(([label, queue]) => [label, queue.queueUrl]))),
    );
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:GetQueueAttributes'],
        resources: [forwardQueue.queueArn, ...Object.values(deadLetterQueues).map((queue) => queue.queueArn)],
      }),
    );
    // The oldest job's age: the forward's ForwardBacklogAgeSeconds metric. GetMetricData has no
    // resource type, so it is granted on "*" (it reads metrics only, never data); the namespace
    // condition key applies to PutMetricData alone
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
    // A policy of its own, so the acknowledgement covers this statement and no later grant.
    const metrics = new iam.Policy(this, 'BacklogAgePolicy', {
      statements: [new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] })],
    });
    this.function.role.attachInlinePolicy(metrics);
    Validations.of(metrics).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData has no resource type, so IAM authorizes it only on "*"; it reads metric values (the console reads the forward backlog age), never mail or configuration.',
    });
  }

  /** Stable output keys (no exports): the runbook and the IdP setup read them with describe-stacks. */
  private outputs(config: ShadowmailConfig): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description }).overrideLogicalId(id);
    output('WebmailUrl', `${this.publicUrl}/`, 'The emergency webmail (shows the status page while failover is off)');
    output(
      'FailoverParameterName',
      this.failoverParameter.parameterName,
      'SSM parameter of the failover flag (shadowmail failover --ssm-parameter)',
    );
    output('UserPoolId', this.userPool.userPoolId, 'Cognito user pool of the webmail (add admins to its admin group)');
    output('CognitoDomain', this.cognitoBaseUrl, 'Cognito hosted UI domain');
    output(
      'UserPoolClientId',
      this.userPoolClient.userPoolClientId,
      'The webmail app client (shadowmail breakglass admin-setup signs in with it)',
    );
    const admins = config.breakGlass.admins.map((admin) => admin.username);
    if (admins.length > 0) {
      output('BreakGlassAdmins', admins.join(','), 'Break-glass admin accounts of the user pool (shadowmail doctor checks their TOTP)');
    }
    output(
      'IdentityProviderName',
      this.identityProvider.providerName,
      "The user pool's identity provider (shadowmail doctor checks its metadata or issuer)",
    );
    if (config.identityProvider.type === 'saml') {
      output('SamlEntityId', `urn:amazon:cognito:sp:${this.userPool.userPoolId}`, 'AD FS relying party trust: relying party identifier');
      output(
        'SamlAcsUrl',
        `${this.cognitoBaseUrl}/saml2/idpresponse`,
        'AD FS relying party trust: SAML 2.0 assertion consumer service URL',
      );
    } else {
      output('OidcRedirectUrl', `${this.cognitoBaseUrl}/oauth2/idpresponse`, 'Entra ID app registration: web redirect URI');
    }
    const domainTarget =
      this.customDomain?.regionalDomainName ?? (config.webmail.customDomain && this.distribution?.distributionDomainName);
    if (domainTarget) {
      output('WebmailDomainTarget', domainTarget, `DNS: CNAME ${config.webmail.customDomain!.domainName} to this name`);
    }
  }
}

/**
 * Where Cognito sends SMS from when it is not the pool's own region: a pool in Seoul must use
 * Amazon SNS in Tokyo (SmsConfigurationType.SnsRegion,
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SmsConfigurationType.html).
 * Unknown for an environment-agnostic stack: `shadowmail doctor` shows the pool's setting.
 */
export const COGNITO_SMS_REGION_EXCEPTIONS: Readonly<Record<string, string>> = { 'ap-northeast-2': 'ap-northeast-1' };

function cognitoSmsRegion(region: string | undefined): { snsRegion?: string } {
  const other = region === undefined ? undefined : COGNITO_SMS_REGION_EXCEPTIONS[region];
  return other === undefined ? {} : { snsRegion: other };
}

// AD FS federation metadata as a file, read at synth; a wrong path or a file that is no
// SAML metadata stops synth naming the configuration key.
function readSamlMetadata(file: string, cwd: string): string {
  const key = `${CONFIG_CONTEXT_KEY}.identityProvider.metadataFile`;
  let xml: string;
  try {
    xml = readFileSync(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new ShadowmailConfigError(key, `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (!/<(?:[A-Za-z_][\w.-]*:)?EntityDescriptor[\s>]/.test(xml)) {
    throw new ShadowmailConfigError(key, `${file} is not SAML metadata (no EntityDescriptor): export FederationMetadata.xml from AD FS`);
  }
  return xml;
}

/** Who failover notice mail comes from: noreply@ the first mail domain, whose SES identity the webmail already sends from. */
export function noticeSender(config: Pick<ShadowmailConfig, 'domains'>): string {
  return `noreply@${config.domains[0]}`;
}
