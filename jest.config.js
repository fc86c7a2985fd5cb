/** Jest runs the TypeScript sources as ESM through ts-jest; `tsc --noEmit` does the type-checking. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The README examples (sample/readme) import the package by name, as users do.
    '^nestjs-grpc-transport$': '<rootDir>/lib/index.ts',
    '^nestjs-grpc-transport/core$': '<rootDir>/lib/core.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
};
