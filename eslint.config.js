// Lint configuration (eslint flat config, run by `npm run lint`): JavaScript's and typescript-eslint's
// recommended rules, without type information: a type-aware run takes about 30 s of CPU here against 6 s,
// on a machine of two cores that CI shares. Import cycles are checked by scripts/check-cycles.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', 'bench/.work/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // a leading underscore marks a value kept on purpose (a destructured-away field, a required parameter)
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
);
