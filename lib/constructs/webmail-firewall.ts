// The WAF web ACL in front of the webmail's CloudFront distribution (config webmail.waf):
// rate-based rules per client, each answering 429 with Retry-After. A web ACL for
// CloudFront has scope CLOUDFRONT and must be created in us-east-1 ("Resources that you
// can protect with AWS WAF", https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html),
// so this construct lives in a stack of its own there (lib/stacks/edge-stack.ts).
//
// Three counts, because one key does not fit every client:
// - per session cookie: a person. A request without the cookie is not counted by this rule
//   ("Web requests that are missing any of the components specified in the aggregation keys
//   are omitted", RateBasedStatementCustomKey, https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatementCustomKey.html),
//   and WAF cannot check the cookie's signature, so a made-up cookie per request escapes it;
// - per address without a session cookie: sign-in and the status page, low;
// - per address, every request: the backstop that a made-up cookie cannot escape, high
//   enough for an office behind one NAT address.
// No AWS managed rule groups: the core rule set inspects request bodies and would block
// staff composing mail that quotes code or markup, and the webmail's own defences (CSRF
// tokens, escaping, the sandboxed message frame) are tested against the XSS corpus.
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { SECURE_SESSION_COOKIE } from '../../lambdas/contract/edge.ts';
import type { ShadowmailConfig } from '../config.ts';

/**
 * Seconds WAF looks back when it counts (60, 120, 300 or 600; 300 is its default: "Rate-based
 * rule high-level settings", https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html);
 * the limits are "per 5 minutes".
 */
export const WAF_WINDOW_SECONDS = 300;

export interface WebmailFirewallProps {
  config: ShadowmailConfig;
}

export class WebmailFirewall extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: WebmailFirewallProps) {
    super(scope, id);
    const { config } = props;
    const limits = config.webmail.waf;
    const noTransformation = [{ priority: 0, type: 'NONE' }];
    const hasSessionCookie: wafv2.CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { singleHeader: { Name: 'cookie' } },
        positionalConstraint: 'CONTAINS',
        searchString: `${SECURE_SESSION_COOKIE}=`,
        textTransformations: noTransformation,
      },
    };
    const rule = (name: string, priority: number, statement: wafv2.CfnWebACL.RateBasedStatementProperty): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      statement: { rateBasedStatement: { evaluationWindowSec: WAF_WINDOW_SECONDS, ...statement } },
      // 429 like API Gateway's throttle; a blocked client is counted again after the window.
      action: {
        block: {
          customResponse: {
            responseCode: 429,
            responseHeaders: [{ name: 'retry-after', value: String(WAF_WINDOW_SECONDS / 5) }],
          },
        },
      },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: `${config.stackId}-${name}`, sampledRequestsEnabled: true },
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: `${config.stackId}-webmail`,
      description: 'shadowmail webmail: request limits per session and per client address',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: `${config.stackId}-webmail`, sampledRequestsEnabled: true },
      rules: [
        rule('per-address', 0, { limit: limits.requestsPer5MinPerIp, aggregateKeyType: 'IP' }),
        rule('per-address-without-session', 1, {
          limit: limits.requestsPer5MinPerIpWithoutSession,
          aggregateKeyType: 'IP',
          scopeDownStatement: { notStatement: { statement: hasSessionCookie } },
        }),
        rule('per-session', 2, {
          limit: limits.requestsPer5MinPerSession,
          aggregateKeyType: 'CUSTOM_KEYS',
          customKeys: [{ cookie: { name: SECURE_SESSION_COOKIE, textTransformations: noTransformation } }],
        }),
      ],
    });
  }

  get webAclArn(): string {
    return this.webAcl.attrArn;
  }
}
