// Assembles a deployment from a validated configuration: the stateful stack,
// the stateless pipeline stack on top of it, and the AWS Solutions checks of
// cdk-nag over both (an unacknowledged finding fails synth). Shared by
// bin/shadowmail.ts and the infrastructure tests.
import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { ShadowmailConfig } from './config.ts';
import { PipelineStack } from './stacks/pipeline-stack.ts';
import { StatefulStack } from './stacks/stateful-stack.ts';

export interface ShadowmailStacks {
  stateful: StatefulStack;
  pipeline: PipelineStack;
}

export function buildShadowmail(app: App, config: ShadowmailConfig): ShadowmailStacks {
  const env = config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const stateful = new StatefulStack(app, 'Stateful', {
    stackName: `${config.stackId}-stateful`,
    description: 'shadowmail: raw mail, message index and pipeline queues (retained on delete)',
    config,
    env,
  });
  const pipeline = new PipelineStack(app, 'Pipeline', {
    stackName: `${config.stackId}-pipeline`,
    description: 'shadowmail: ingest and forward functions (stateless)',
    config,
    stateful,
    env,
  });
  Tags.of(app).add('shadowmail:stack', config.stackId);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stateful, pipeline };
}
