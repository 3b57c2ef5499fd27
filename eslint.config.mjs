// Flat config: typed linting for every workspace's TypeScript, and JavaScript's recommended rules
// for the .mjs scripts (bench/, scripts/, the portal's build scripts). Rules that matter most
// here: no floating promises (a lost promise is a lost sample), no `any`, exhaustive switches.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TYPESCRIPT = ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'];

// Test code stays in tests: production sources import no fixtures module (`*.fixtures`,
// `*-fixtures`), no package's `/testing` entry, and neither test library.
const TEST_CODE_IMPORTS = [
  {
    regex: '(^|/)[^/]*[.-]fixtures$',
    message: 'Fixtures are for specs: production code must not import them.',
  },
  {
    regex: '^@metering/([^/]+/testing|testing|pipeline-harness)$',
    message: 'Test helpers are for specs: production code must not import them.',
  },
];

// The pure core: the domain, the collectors' sampling arithmetic, money and pricing.
const DOMAIN_SOURCES = [
  'services/*/src/**/domain/**/*.ts',
  'services/*/src/sampling/**/*.ts',
  'libs/money/src/**/*.ts',
  'libs/pricing/src/**/*.ts',
];
const DOMAIN_PURITY = [
  {
    group: [
      '@nestjs/*',
      'express',
      'kafkajs',
      'typeorm',
      'pg',
      'dockerode',
      '@influxdata/*',
      '@unraid/libvirt',
      'pdfkit',
      'csv-*',
      '@metering/kafka',
      '@metering/kafka/*',
      '@metering/spool',
      '@metering/spool/*',
      '@metering/ledger',
      '@metering/ledger/*',
      // node's I/O, with and without the node: prefix.
      'node:fs',
      'node:fs/*',
      'fs',
      'fs/*',
      'node:net',
      'net',
      'node:http',
      'http',
      'node:https',
      'https',
      'node:child_process',
      'child_process',
    ],
    message:
      'Pure code (domain/, sampling/, money, pricing): no framework or I/O; adapters do that.',
  },
  {
    // Its index brings Nest, pino and prom-client; the retry helpers come without them.
    regex: '^@metering/observability$',
    message: 'Pure code imports @metering/observability/resilience, not the index.',
  },
];

/** Sources that ship: every workspace's src/, less its specs, fixtures and the test libraries. */
const PRODUCTION_SOURCES = ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'];
const NOT_PRODUCTION = [
  '**/*.spec.ts',
  '**/*.fixtures.ts',
  '**/*-fixtures.ts',
  'libs/*/src/testing.ts',
  'libs/testing/**',
  'libs/pipeline-harness/**',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.stack/**',
      '**/*.js',
      '**/*.cjs',
      // Generated from billing-api's OpenAPI document (services/portal/scripts/api-types.mjs).
      'services/portal/src/api/billing-api.d.ts',
    ],
  },
  js.configs.recommended,
  {
    // Scripts run by node (benches, the test runner, the demo): JavaScript's recommended rules
    // and node's globals; no type information, so not the type-checked TypeScript rules.
    files: ['**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: TYPESCRIPT,
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test registers tests synchronously; the promises they return need no await.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration in config.ts only.' },
      ],
    },
  },
  {
    // Configuration modules and test helpers are the only places that read the environment.
    files: [
      '**/config.ts',
      '**/*.config.ts',
      '**/test/**/*.ts',
      '**/*.spec.ts',
      'libs/testing/**/*.ts',
      'libs/pipeline-harness/**/*.ts',
      'e2e/**/*.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: PRODUCTION_SOURCES,
    ignores: NOT_PRODUCTION,
    rules: { 'no-restricted-imports': ['error', { patterns: TEST_CODE_IMPORTS }] },
  },
  {
    // The domain is pure: no framework or I/O imports (docs/engineering.md).
    files: DOMAIN_SOURCES,
    // Specs beside pure code may use real parts (a spool on disk) to check it.
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: DOMAIN_PURITY }] },
  },
  {
    // A later setting of a rule replaces an earlier one: the domain's shipped files get both lists.
    files: DOMAIN_SOURCES,
    ignores: NOT_PRODUCTION,
    rules: {
      'no-restricted-imports': ['error', { patterns: [...DOMAIN_PURITY, ...TEST_CODE_IMPORTS] }],
    },
  },
  {
    // Rows checked at the boundary (issue 20, ADR 14): rating reads the ledger through
    // LedgerDb.rows with a zod schema per kind of row, never a typed or cast query.
    files: ['services/rating/src/**/*.ts'],
    ignores: ['**/*.spec.ts', 'services/rating/src/ledger/ledger-db.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='query']",
          message:
            'Read the ledger through LedgerDb.rows/execute (a zod schema per row), not query().',
        },
      ],
    },
  },
  {
    // The same for billing-api (docs/engineering.md, "Rows read from PostgreSQL"): every
    // statement goes through common/sql-rows.ts (rows/firstRow with a zod schema per row shape,
    // execute/affected when no row is read).
    files: ['services/billing-api/src/**/*.ts'],
    ignores: ['**/*.spec.ts', 'services/billing-api/src/common/sql-rows.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='query']",
          message:
            'Run SQL through common/sql-rows.ts (rows/firstRow with a zod schema per row, execute, affected), not query().',
        },
      ],
    },
  },
  {
    // Files a newcomer can hold in their head (issue 20): at most 450 lines. A longer file says
    // why at its top: /* eslint-disable max-lines -- Long because: … */.
    rules: { 'max-lines': ['error', { max: 450 }] },
  },
);
