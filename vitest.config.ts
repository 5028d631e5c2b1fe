// Two suites: `unit` needs only the project itself (a fresh clone passes it);
// `corpus` reads ../shared/corpus and runs in `npm run test:corpus`.
import { defineConfig } from 'vitest/config';

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
};

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/corpus/**'] } },
      { test: { ...shared, name: 'corpus', include: ['test/corpus/**/*.test.ts'] } },
    ],
  },
});
