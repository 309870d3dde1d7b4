import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration files each start their own servers; two at a time suits a 2-core machine.
    maxWorkers: 2,
    // Tests that use the AWS SDK in-process run on Node 20 too; its "please upgrade" notice is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
