// Three tiers by what a test starts (test/support/test-tiers.ts): `unit` nothing — the fast
// loop, `npm run test:unit`; `integration` local servers of our own; `system` Debian's
// daemons, Chromium, root and the CLI or local mode as processes. `npm test` runs all three.
// `corpus` reads ../shared/corpus and runs in `npm run test:corpus`.
import { defineConfig } from 'vitest/config';
import { tierFiles } from './test/support/test-tiers.ts';

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
};

export default defineConfig({
  test: {
    projects: [
      // The guard fails a unit test that starts a server or a child process after all.
      { test: { ...shared, name: 'unit', ...tierFiles('unit'), setupFiles: ['test/support/unit-guard.ts'] } },
      { test: { ...shared, name: 'integration', ...tierFiles('integration') } },
      { test: { ...shared, name: 'system', ...tierFiles('system') } },
      { test: { ...shared, name: 'corpus', include: ['test/corpus/**/*.test.ts'] } },
    ],
  },
});
