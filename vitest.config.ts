import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// `import … from 'gameday'` inside this repository (extensions in tests) means the sources, not dist/
const alias = [
  { find: /^gameday$/, replacement: fileURLToPath(new URL('src/api/index.ts', import.meta.url)) },
  { find: /^gameday\/vitest$/, replacement: fileURLToPath(new URL('src/vitest/index.ts', import.meta.url)) },
]

// Five projects, each runnable alone (`npx vitest run --project unit`):
//  - unit:       pure code, plus single real nats-server / redis-server / proxy processes on loopback
//  - local:      the whole local environment (5-node NATS cluster, Redis, target services)
//  - containers: the testcontainers environment (needs a Docker engine)
//  - browser:    the report pages opened in headless Chromium
//  - package:    gameday packed, installed into an empty project and used there as a user would
// The heavy projects (local, containers, browser, package) run their files one at a time: the
// machine has 2 cores, and their verdicts rest on latencies a second file would disturb.
export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['{src,plugins,target,test}/**/*.test.ts'],
          exclude: ['**/*.local.test.ts', '**/*.containers.test.ts', '**/*.browser.test.ts', '**/*.package.test.ts', 'node_modules/**'],
          // two files at a time (vitest's default on 2 cores is one): most of a unit file's time is
          // spent waiting on its servers, fault windows and child processes, not on a core
          maxWorkers: 2,
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'local',
          include: ['{src,plugins,target,test}/**/*.local.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // the report pages in headless Chromium (Debian's chromium, see scripts/setup.sh)
        resolve: { alias },
        test: {
          name: 'browser',
          include: ['test/browser/**/*.browser.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'containers',
          include: ['{src,plugins,target,test}/**/*.containers.test.ts'],
          globalSetup: ['test/containers/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // npm pack, install into an empty project, init / validate / plan / run there (a build, nats-server processes)
          name: 'package',
          include: ['test/package/**/*.package.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
