// Lambda entry point of the resend worker (the stack bundles this file): the handler of
// lambdas/handlers/resend.ts with the AWS wiring (and the smart-host secret), built once
// per execution environment.
import { createResendHandler } from '../handlers/resend.ts';
import type { SqsHandler } from '../handlers/sqs-batch.ts';
import { awsResendDeps } from '../wiring/aws-relay.ts';
import { lazyHandler } from './lazy.ts';

export const handler: SqsHandler = lazyHandler(async () => createResendHandler(await awsResendDeps()));
