// ESLint (flat config): typescript-eslint's recommended rules on every package's sources, tests, bench
// scripts and tools; formatting is Prettier's job (`npm run format`), so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'packages/core/wasm/**',
      '**/coverage/**',
      '.nx/**',
      '.cache/**',
      '**/bench-out/**',
      'docs/api/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_`-prefixed names mark arguments a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Our wrapping errors repeat the caught error's message; `{ cause }` needs lib ES2022 (tsconfig: ES2020).
      'preserve-caught-error': 'off',
    },
  },
  {
    // Plain CommonJS files: the CLI launcher and the jest configs.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
