#!/usr/bin/env node
// The `shadowmail` command (package bin): loads the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
