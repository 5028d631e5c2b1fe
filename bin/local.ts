// `npm start`: the whole pipeline on one machine (local mode). Bad configuration
// stops start-up with one line naming the variable.
import { ShadowmailError } from '../lambdas/core/errors.ts';
import { startLocalStack } from '../lambdas/wiring/local.ts';
import { LOCAL_ENV, readLocalConfig } from '../lambdas/wiring/local-config.ts';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// No arguments: everything is configured by environment. --help says so before anything starts.
const LOCAL_USAGE = `usage: npm start
  Runs the whole pipeline on this machine (README: "Try it on one machine"), configured by
  environment variables (README: "Configuration (environment)"), among them
    ${Object.values(LOCAL_ENV).join('\n    ')}`;
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(LOCAL_USAGE);
  process.exit(0);
}
if (args.length > 0) {
  console.error(
    `shadowmail: npm start takes no arguments (${JSON.stringify(args[0])}); it is configured by environment variables\n${LOCAL_USAGE}`,
  );
  process.exit(2);
}

try {
  const config = readLocalConfig();
  const stack = await startLocalStack(config);
  const primary = config.primary
    ? `smtp://${config.primary.host}:${config.primary.port}`
    : `built-in sink on 127.0.0.1:${stack.sinkPort} (${stack.paths.primarySink})`;
  console.log(
    [
      `shadowmail local mode ready`,
      `  SMTP in   ${config.listenHost}:${stack.smtpPort} for ${config.domains.join(', ')}`,
      `  webmail   ${stack.publicUrl}/  (users get in only while \`npx shadowmail failover on\`)`,
      `  sign-in   demo users alice, bob, admin @${config.domains[0]} (password = the name), provider ${stack.oidc.url}`,
      `  health    http://${config.listenHost}:${stack.httpPort}/healthz`,
      `  primary   ${primary}`,
      `  data      ${config.dataDir}`,
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  const message = error instanceof ShadowmailError ? error.message : String((error as Error)?.stack ?? error);
  console.error(`shadowmail: ${message}`);
  process.exit(1);
}
