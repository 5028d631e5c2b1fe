// Expected values of synthesized templates: an SES ARN in this stack's partition,
// region and account, as CDK writes it (Fn::Join of the pseudo parameters).
export function sesArn(...resource: unknown[]): { 'Fn::Join': [string, unknown[]] } {
  return {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ...resource]],
  };
}
