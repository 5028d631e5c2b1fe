// Who may assume a role meant for the on-prem host (directory sync, reconcile): this
// account (an admin then grants sts:AssumeRole to the host's identity), with an external
// id when one is configured, and IAM Roles Anywhere sessions from one trust anchor
// (optionally one certificate CN) — docs/deploy.md §8.1 and §8.2. Sessions last at most an hour.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

export interface OnPremTrustProps {
  /** Required in sts:AssumeRole when set (`external_id` in the AWS CLI profile). */
  externalId?: string;
  /** Also trust IAM Roles Anywhere sessions from this trust anchor, optionally only for one certificate CN. */
  rolesAnywhere?: { trustAnchorArn: string; certificateCommonName?: string };
}

/** The role props of the trust: principal and session length. */
export function onPremAssumedBy(props: OnPremTrustProps): Pick<iam.RoleProps, 'assumedBy' | 'maxSessionDuration'> {
  const account = new iam.AccountRootPrincipal();
  return {
    assumedBy: props.externalId === undefined ? account : account.withConditions({ StringEquals: { 'sts:ExternalId': props.externalId } }),
    maxSessionDuration: Duration.hours(1),
  };
}

/** Adds the Roles Anywhere statement to the role's trust policy, when configured. */
export function trustRolesAnywhere(role: iam.Role, props: OnPremTrustProps): void {
  if (props.rolesAnywhere === undefined) return;
  const { trustAnchorArn, certificateCommonName } = props.rolesAnywhere;
  role.assumeRolePolicy!.addStatements(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('rolesanywhere.amazonaws.com')],
      actions: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
      conditions: {
        ArnEquals: { 'aws:SourceArn': trustAnchorArn },
        ...(certificateCommonName !== undefined && { StringEquals: { 'aws:PrincipalTag/x509Subject/CN': certificateCommonName } }),
      },
    }),
  );
}
