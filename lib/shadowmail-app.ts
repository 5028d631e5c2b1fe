// Assembles a deployment from a validated configuration: the stateful stack,
// the stateless stack on top of it, and the AWS Solutions checks of
// cdk-nag over both (an unacknowledged finding fails synth). Shared by
// bin/shadowmail.ts and the infrastructure tests.
import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { ShadowmailConfig } from './config.ts';
import { CLOUDFRONT_WAF_REGION, EdgeStack } from './stacks/edge-stack.ts';
import { StatefulStack } from './stacks/stateful-stack.ts';
import { StatelessStack } from './stacks/stateless-stack.ts';

export interface ShadowmailStacks {
  stateful: StatefulStack;
  stateless: StatelessStack;
  /** Only with webmail.waf. */
  edge?: EdgeStack;
}

export function buildShadowmail(app: App, config: ShadowmailConfig): ShadowmailStacks {
  const env = config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const stateful = new StatefulStack(app, 'Stateful', {
    stackName: `${config.stackId}-stateful`,
    description: 'shadowmail: raw mail, message index and pipeline queues (retained on delete)',
    config,
    env,
  });
  // The CloudFront web ACL must be created in us-east-1: a stack of its own there (lib/stacks/edge-stack.ts).
  const edge = config.webmail.waf.enabled
    ? new EdgeStack(app, 'Edge', {
        stackName: `${config.stackId}-edge`,
        description: 'shadowmail: the WAF web ACL of the webmail CloudFront distribution (us-east-1)',
        config,
        env: { account: config.account, region: CLOUDFRONT_WAF_REGION },
      })
    : undefined;
  const stateless = new StatelessStack(app, 'Stateless', {
    stackName: `${config.stackId}-stateless`,
    description: 'shadowmail: SES receiving, ingest/forward/resend functions, webmail, monitoring (stateless)',
    config,
    stateful,
    env,
    ...(edge && { webAclArn: edge.firewall.webAclArn, crossRegionReferences: true }),
  });
  // Not on the failover parameter: a tag change would make CloudFormation update it and
  // write its initial value over an admin's switch, possibly in the middle of an outage.
  Tags.of(app).add('shadowmail:stack', config.stackId, { excludeResourceTypes: ['AWS::SSM::Parameter'] });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stateful, stateless, ...(edge && { edge }) };
}
