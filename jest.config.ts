import type { Config } from 'jest';

// Type-checking is done once by `tsc --noEmit` in `npm test`; ts-jest only
// transpiles (isolatedModules in tsconfig) so the suite stays fast on two cores.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['fake-indexeddb/auto'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 30_000,
};

export default config;
