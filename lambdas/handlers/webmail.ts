// Lambda entry point of the webmail: API Gateway HTTP API → the same Hono app that
// local mode serves. Wiring (secrets, flag, sign-in) is built once per cold start.
import { handle } from 'hono/aws-lambda';
import { createWebApp } from '../../web/app.ts';

type LambdaHandler = ReturnType<typeof handle>;

let awsHandler: Promise<LambdaHandler> | undefined;

export const handler: LambdaHandler = async (event, context) => {
  awsHandler ??= import('../wiring/aws.ts').then(async (wiring) =>
    handle(createWebApp({ health: async () => ({ ready: true, details: {} }), webmail: await wiring.awsWebmailDeps() })),
  );
  return (await awsHandler)(event, context);
};
