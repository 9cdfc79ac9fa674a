// ESLint 9 flat config, run by `npm test` (through `npm run lint`).
//
// The aim is bugs, not style (Prettier owns layout; `npm run format`): ESLint's and
// typescript-eslint's recommended rules, plus the type-aware rules about promises. A promise
// nobody awaits or catches is the bug that matters most in a gateway: its rejection is
// unhandled, and Node ends the process on one. Type-aware linting builds a TypeScript
// program (25-65 s for the whole repository on 2 busy cores, about twice `tsc --noEmit`),
// so only rules worth that are on. The rest of `recommendedTypeChecked` is off, measured on
// this code: no-unnecessary-type-assertion (122 findings) and the no-unsafe-* rules (~120:
// values from untyped libraries and JSON) would change dozens of files and no behaviour;
// restrict-template-expressions, require-await, no-base-to-string, unbound-method and
// no-unsafe-enum-comparison flag intended code (IDs with toString, async interface methods,
// tests that check String() of a key holder hides the key); prefer-promise-reject-errors
// (3 findings) is left to the error model's work.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated code is regenerated, not edited (npm run generate:workload-api).
  { ignores: ['dist/', 'bench/dist/', 'coverage/', '.dev/', 'src/spiffe/workload/generated/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `return await` inside try: without the await, the catch never sees the rejection.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // Only Errors are thrown: a thrown string has no stack and no `code` to branch on.
      '@typescript-eslint/only-throw-error': 'error',
      // A variable assigned once, after a closure that reads it was made (`let gateway; …
      // onChange: () => gateway?.reload(); gateway = …`), cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Style only: a YAML indentation in a test regex reads better as spaces than as ` {4}`.
      'no-regex-spaces': 'off',
      // `_` names a value left out on purpose (`const { d: _d, ...publicKey } = jwk`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Plain CommonJS scripts run by Node: the benchmarks, jest's and dependency-cruiser's configs, a test loader.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
