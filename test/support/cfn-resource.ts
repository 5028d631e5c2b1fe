// A resource of a synthesized CloudFormation template, as the infra tests walk it.

/** Template JSON has no schema the tests could name; property paths are asserted, not typed. */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON.
export type CfnJson = any;

export interface CfnResource {
  Type: string;
  Properties: Record<string, CfnJson>;
  DependsOn?: string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
}
