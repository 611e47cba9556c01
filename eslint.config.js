// ESLint flat config: typescript-eslint's strict type-aware rules over every TypeScript file that
// a tsconfig covers (the root one, and example/'s own). Formatting belongs to Prettier:
// eslint-config-prettier turns off the rules that would disagree with it.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

export default defineConfig(
  // templates/ holds {{ placeholders }}, so its files are not valid TypeScript until rendered.
  { ignores: ['dist/', '.bench/', 'coverage/', '**/node_modules/', 'templates/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async function is the contract (ASGI apps, session stores, channel layers return
      // promises), and `async` turns a synchronous throw into the rejection callers expect.
      '@typescript-eslint/require-await': 'off',
      // With noUncheckedIndexedAccess, `xs[i]!` after a bounds check is the idiom.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `() => void call()` shorthand in callbacks is the house style; the rule flags style only.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Numbers and booleans read fine in messages; objects and nullish values still need care.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      // Rethrowing a caught value as a rejection is the pattern; new rejections still need Errors.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Fixtures: empty and static-only classes are the inputs under test (a class passed where
      // an application belongs).
      '@typescript-eslint/no-extraneous-class': 'off',
      // vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // The example's browser script: plain JavaScript, no type information.
    files: ['**/static/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        WebSocket: 'readonly',
        fetch: 'readonly',
      },
    },
  },
  prettier,
)
