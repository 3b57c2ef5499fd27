// Flat config: typed linting for every workspace. Rules that matter most here:
// no floating promises (a lost promise is a lost sample), no `any`, exhaustive switches.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.stack/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      // Generated from billing-api's OpenAPI document (services/portal/scripts/api-types.mjs).
      'services/portal/src/api/billing-api.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
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
    // The domain is pure: no framework or I/O imports (style.md, habit 2).
    files: [
      'services/*/src/**/domain/**/*.ts',
      'libs/money/src/**/*.ts',
      'libs/pricing/src/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@nestjs/*',
            'kafkajs',
            'typeorm',
            'dockerode',
            '@influxdata/*',
            '@unraid/libvirt',
            'pg',
            'node:fs',
            'node:net',
            'node:http',
          ],
        },
      ],
    },
  },
);
