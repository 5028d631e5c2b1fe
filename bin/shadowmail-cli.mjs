#!/usr/bin/env node
// The `shadowmail` command (package bin): loads the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
// What the CLI writes into local mode's data directory is owner-only, as local mode's own files.
const { ownerOnlyFiles } = await import('../lambdas/wiring/local-data-dir.ts');
ownerOnlyFiles();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
