import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['**/dist/**', '**/vendor/**', '**/node_modules/**', '.tools/**', '.cache/**', '**/*.js', '**/*.mjs', '**/*.cjs', '_kola_temp/**']},
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      'no-console': 'error',
    },
  },
)
