import tseslint from 'typescript-eslint'

// The architecture of docs/CONTRIBUTING.md, checked on every .ts, .js, .mjs and
// .cjs file (scripts/architecture.test.ts proves each rule still fires).

/** Test code: tests, their helpers, fixtures, the private test-utils package, benchmarks and repository scripts. */
const TEST_CODE = [
  '**/*.test.ts',
  '**/testing/**',
  '**/testing.ts',
  '**/testdata/**',
  'packages/test-utils/**',
  'bench/**',
  'scripts/**',
  'vitest.config.ts',
  'eslint.config.js',
]

const TEST_HELPERS = {
  group: [
    '**/testing',
    '**/testing/**',
    '**/testing.js',
    '@mantle/test-utils',
    '@mantle/test-utils/**',
    '@mantle/*/testing',
    '@mantle/*/testing/**',
    'vitest',
    'nock',
    'aws-sdk-client-mock',
    'aws-sdk-client-mock-*',
  ],
  message: 'test helpers are for tests only: shipped code never imports them.',
}
const OCLIF = {
  group: ['@oclif/core', '@oclif/core/**'],
  message: 'take oclif (Flags, Args, Command, Errors, Config) from @mantle/kit: only the kit loads it.',
}
const CLOUD_SDKS = {
  group: ['@aws-sdk/*', '@smithy/*', 'aws-sdk', '@google-cloud/*', '@googleapis/*', 'googleapis', 'google-auth-library', '@azure/*'],
  message: "cloud SDKs belong in packages/cloud, packages/auth and the kit's storage: use their narrow interfaces.",
}
// Dynamic import() and require() of the same modules, which no-restricted-imports does not see (esquery regexes; "." stands for "/").
TEST_HELPERS.regex = '(^|[^a-zA-Z0-9_-])testing([^a-zA-Z0-9_-]|$)|^@mantle.test-utils|^vitest$|^nock$|^aws-sdk-client-mock'
OCLIF.regex = '^@oclif.core($|.)'
CLOUD_SDKS.regex = '^(@aws-sdk|@smithy|@google-cloud|@googleapis|@azure).|^(aws-sdk|googleapis|google-auth-library)$'
const REPARSE = {
  selector: "CallExpression[callee.object.type='ThisExpression'][callee.property.name='parse']",
  message: 'the base command parsed already: use this.flags, this.args and this.context.argv.',
}
function restrictImports(restrictions, extraSyntax = []) {
  const patterns = restrictions.map(({group, message}) => ({group, message}))
  const syntax = restrictions.flatMap(({regex, message}) => [
    {selector: `ImportExpression[source.value=/${regex}/]`, message},
    {selector: `CallExpression[callee.name='require'][arguments.0.value=/${regex}/]`, message},
  ])
  return {'no-restricted-imports': ['error', {patterns}], 'no-restricted-syntax': ['error', ...syntax, ...extraSyntax]}
}

const ENVIRONMENT = ['env', 'cwd', 'argv'].map((property) => ({
  object: 'process',
  property,
  message: `process.${property} is read once, by the base command (or a bin): use this.context (env, home, cwd, argv) and pass values down.`,
}))

export default tseslint.config(
  // Generated and git-ignored (see .gitignore): now that .js/.mjs/.cjs are linted, their generated copies must stay out.
  {
    ignores: [
      '**/dist/**',
      '**/vendor/**',
      '**/node_modules/**',
      '**/.cache/**',
      '.tools/**',
      '.day/**',
      '.services/**',
      '.emulators/**',
      '.packs/**',
      '_kola_temp/**',
      '_kube_temp/**',
      'bench/results/**',
      'coverage/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      'no-console': 'error',
    },
  },
  {
    // Plain JavaScript runs on Node as it is: CommonJS bins may require().
    files: ['**/*.cjs'],
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    // Tools print through their own stdout/stderr writers; scripts and benchmarks are programs of their own.
    files: ['bench/**', 'scripts/**'],
    rules: {'no-console': 'off'},
  },
  // Imports, from the most restricted to the least: later entries replace the rule for their files.
  {files: ['packages/**'], ignores: TEST_CODE, rules: restrictImports([TEST_HELPERS, OCLIF, CLOUD_SDKS])},
  {files: ['packages/kit/**'], ignores: TEST_CODE, rules: restrictImports([TEST_HELPERS, CLOUD_SDKS])},
  {files: ['packages/kit/src/storage/**'], ignores: TEST_CODE, rules: restrictImports([TEST_HELPERS])},
  {files: ['packages/auth/**', 'packages/cloud/**'], ignores: TEST_CODE, rules: restrictImports([TEST_HELPERS, OCLIF])},
  // A command's positional arguments are this.context.argv, parsed once by the base command.
  {files: ['packages/*/src/commands/**'], ignores: TEST_CODE, rules: restrictImports([TEST_HELPERS, OCLIF, CLOUD_SDKS], [REPARSE])},
  {
    // The environment is read in one place; bins (packages/*/bin) and test code are outside this block.
    files: ['packages/*/src/**'],
    ignores: [...TEST_CODE, 'packages/kit/src/base-command.ts'],
    rules: {'no-restricted-properties': ['error', ...ENVIRONMENT]},
  },
)
