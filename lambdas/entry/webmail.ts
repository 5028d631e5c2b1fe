// Lambda entry point of the webmail (the stack bundles this file): API Gateway HTTP API →
// the same Hono app that local mode serves. Wiring (secrets, flag, sign-in) is built once
// per execution environment.
import { handle } from 'hono/aws-lambda';
import { createWebApp } from '../../web/app.ts';
import { awsOriginCheck, awsWebmailDeps } from '../wiring/aws.ts';
import { lazyHandler } from './lazy.ts';

export const handler = lazyHandler(async () =>
  handle(
    createWebApp({
      health: async () => ({ ready: true, details: {} }),
      webmail: await awsWebmailDeps(),
      originCheck: await awsOriginCheck(),
    }),
  ),
);
