// Cognito's pre- and post-authentication trigger (issue 13): a MailFunction running
// lambdas/entry/sign-in-trigger.ts, wired to the user pool, granted exactly what its adapters
// call — the flag parameter (GetParameter), the directory's address and user items and the
// admins' setup windows (GetItem), audit items (PutItem), and AdminGetUser on this pool.
//
// The pool names the function (LambdaConfig) and the function's role would name the pool:
// the default policy of a role is a dependency of its function, so AdminGetUser goes into a
// separate iam.Policy that nothing else waits for — pool → function → role ← policy → pool,
// no cycle. The pool id reaches the function in each event (userPoolId), not in its
// environment, for the same reason.
import { Duration } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ENV, SIGN_IN_TRIGGER_ENV, WEB_ENV } from '../../lambdas/contract/environment.ts';
import { ADMIN_SETUP_PREFIX } from '../../lambdas/contract/message-table.ts';
import { MailFunction } from './mail-function.ts';

/**
 * Item key prefixes the trigger touches (lambdas/contract/message-table.ts, the directory store):
 * it reads ADDR#<address>, DIR#<shard> and SETUP#<admin> items and writes AUDIT#<day> items, nothing else.
 */
export const SIGN_IN_TRIGGER_ITEMS = { read: ['ADDR#*', 'DIR#*', `${ADMIN_SETUP_PREFIX}*`], write: ['AUDIT#*'] } as const;

// Cognito waits at most 5 s for a trigger and then fails the sign-in
// (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-working-with-lambda-triggers.html):
// a longer timeout would only keep a function running for an answer nobody reads. More memory
// is more CPU for the cold start, which must fit in those 5 s too.
export const SIGN_IN_TRIGGER_LIMITS = { timeout: Duration.seconds(5), memoryMiB: 512 };

export interface SignInTriggerProps {
  userPool: cognito.UserPool;
  table: dynamodb.ITable;
  failoverParameter: ssm.IStringParameter;
  /** config.breakGlass.admins usernames. */
  admins: readonly string[];
  /** config.breakGlass.staffSmsCodes. */
  staffSmsCodes: boolean;
}

export class SignInTrigger extends Construct {
  readonly function: MailFunction;
  /** AdminGetUser on the pool, apart from the role's default policy (see above). */
  readonly poolPolicy: iam.Policy;

  constructor(scope: Construct, id: string, props: SignInTriggerProps) {
    super(scope, id);
    this.function = new MailFunction(this, 'Function', {
      entry: 'lambdas/entry/sign-in-trigger.ts',
      description: 'shadowmail sign-in trigger: break-glass sign-in rules and audit (Cognito pre/post authentication)',
      timeout: SIGN_IN_TRIGGER_LIMITS.timeout,
      memoryMiB: SIGN_IN_TRIGGER_LIMITS.memoryMiB,
      environment: { [ENV.tableName]: props.table.tableName },
    });
    const fn = this.function.function;
    fn.addEnvironment(WEB_ENV.failoverParameter, props.failoverParameter.parameterName);
    fn.addEnvironment(WEB_ENV.breakGlassAdmins, props.admins.join(','));
    fn.addEnvironment(SIGN_IN_TRIGGER_ENV.staffSmsCodes, String(props.staffSmsCodes));

    const role = this.function.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [props.failoverParameter.parameterArn] }),
    );
    // Item-level: dynamodb:LeadingKeys limits each action to the partition keys named
    // (Service Authorization Reference, Amazon DynamoDB condition keys).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...SIGN_IN_TRIGGER_ITEMS.read] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...SIGN_IN_TRIGGER_ITEMS.write] } },
      }),
    );
    this.poolPolicy = new iam.Policy(this, 'PoolPolicy', {
      statements: [new iam.PolicyStatement({ actions: ['cognito-idp:AdminGetUser'], resources: [props.userPool.userPoolArn] })],
      roles: [role],
    });

    // addTrigger also lets cognito-idp.amazonaws.com invoke the function for this pool only (SourceArn).
    props.userPool.addTrigger(cognito.UserPoolOperation.PRE_AUTHENTICATION, fn);
    props.userPool.addTrigger(cognito.UserPoolOperation.POST_AUTHENTICATION, fn);
  }
}
