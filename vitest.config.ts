import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  define: { __APP_VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.1.0') },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Generous: a test checks a mechanism, not speed, and must pass on a slow, busy machine
    // (measured: real runs took over 30 s each at a load average of 28 on 2 cores). A hang still fails.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // runs must not pick up the developer's own calibration (hmmlab calibrate) by default
    // nor read or write the developer's calibration file (the app's routes use HMMLAB_CALIBRATION)
    env: { HMMLAB_COSTS: 'default', HMMLAB_CALIBRATION: join(tmpdir(), `hmmlab-vitest-${process.pid}`, 'calibration.json') },
  },
})
