// ESLint (flat config) with typescript-eslint, and Gameday's own rules (scripts/lint-rules.js).
// `npm run lint` runs it with Prettier's check; `npm test` runs lint first.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'
import gameday from './scripts/lint-rules.js'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'gen/', 'reports/', '.gameday/', '.scratch/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { gameday },
    rules: {
      'gameday/plugins-use-public-api': 'error',
      'gameday/no-silent-catch': 'error',
      // an `any` at a boundary (registries of heterogeneous plugins, JSON from the wire) is explicit and rare
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      // a variable a closure reads before its one assignment cannot be const
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // tests may swallow cleanup errors and reach anywhere
    files: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: { 'gameday/no-silent-catch': 'off', 'no-empty': 'off' },
  },
)
