// Lambda entry point of the webmail: API Gateway HTTP API → the same Hono app that
// local mode serves. Wiring (secrets, flag, sign-in) is built once per execution environment.
import { handle } from 'hono/aws-lambda';
import { createWebApp } from '../../web/app.ts';
import { lazy } from './lazy.ts';

type LambdaHandler = ReturnType<typeof handle>;

const awsHandler = lazy(async () => {
  const wiring = await import('../wiring/aws.ts');
  return handle(createWebApp({ health: async () => ({ ready: true, details: {} }), webmail: await wiring.awsWebmailDeps() }));
});

export const handler: LambdaHandler = async (event, context) => (await awsHandler())(event, context);
