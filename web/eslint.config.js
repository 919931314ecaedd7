// Lint rules, including the import direction of bulletproof-react:
//   app → features → shared (components, lib, testing)
// A feature never imports another feature or the app; shared code imports neither.
import { readdirSync } from 'node:fs';

import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const features = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const upward = {
  regex: '^(\\.\\./)+(app|features)(/|$)',
  message: 'Use the "@/" alias; shared code and features may not reach into app or features.',
};

const sharedRule = [
  'error',
  {
    patterns: [
      {
        regex: '^@/(app|features)(/|$)',
        message: 'Shared code (components, lib, testing) may not import from features or app.',
      },
      upward,
    ],
  },
];

const featureRule = (name) => [
  'error',
  {
    patterns: [
      { regex: '^@/app(/|$)', message: 'A feature may not import from app.' },
      {
        regex: `^@/features/(?!${name}(/|$))`,
        message: `Feature "${name}" may not import another feature: compose features in app/.`,
      },
      {
        regex: '^\\.\\./\\.\\./',
        message: 'Leave a feature through the "@/" alias, not with ../../',
      },
    ],
  },
];

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'e2e/screenshots'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2023, globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['src/components/**', 'src/lib/**', 'src/testing/**'],
    rules: { 'no-restricted-imports': sharedRule },
  },
  ...features.map((name) => ({
    files: [`src/features/${name}/**`],
    rules: { 'no-restricted-imports': featureRule(name) },
  })),
  {
    files: ['e2e/**/*.mjs', '*.config.{js,ts}', 'tests/**'],
    extends: [js.configs.recommended],
    // e2e scripts also hand functions to the browser (page.waitForFunction)
    languageOptions: { ecmaVersion: 2023, globals: { ...globals.node, ...globals.browser } },
  },
);
