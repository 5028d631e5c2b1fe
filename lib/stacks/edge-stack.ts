// The us-east-1 part of the CloudFront + WAF option (config webmail.waf): only the web ACL,
// because a CloudFront web ACL must be created there. The webmail stack (in the
// deployment's region) reads its ARN through CDK's cross-region references, which CDK
// writes as an output here and `Fn::GetStackOutput` there (a weak reference resolved at
// deploy time, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html),
// so one `cdk deploy --all` deploys both in order. Chosen over a web ACL created by hand
// (one more manual step in the runbook) and over WAF on API Gateway (WAF protects REST
// APIs, not HTTP APIs: https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html).
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ShadowmailConfig } from '../config.ts';
import { WebmailFirewall } from '../constructs/webmail-firewall.ts';

/** Where CloudFront's web ACLs live. */
export const CLOUDFRONT_WAF_REGION = 'us-east-1';

export interface EdgeStackProps extends StackProps {
  config: ShadowmailConfig;
}

export class EdgeStack extends Stack {
  readonly firewall: WebmailFirewall;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    this.firewall = new WebmailFirewall(this, 'WebmailFirewall', { config: props.config });
  }
}
