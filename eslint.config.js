// ESLint: the habits that keep the code the way docs/architecture.md and src/sim/README.md
// describe it. Type-aware rules are left to `tsc` (npm run typecheck); this file checks what the
// compiler does not: layering (who may import what), cycles, and the usual mistakes.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import importX, { createNodeResolver } from 'eslint-plugin-import-x'
import vue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Imports the simulator must never make: it runs in workers, browsers and the CLI alike. */
const HOST_MODULES = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'electron', 'vue', 'pinia', 'vue-router']

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/essential'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.vue', '.json'] })] },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Generators that hand control back without yielding are the engine's way of saying "done now".
      'require-yield': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // No import cycles in the product's code (test/sim/layers.test.ts holds src/sim to stricter layers).
    files: ['src/**/*.{ts,vue}'],
    rules: { 'import-x/no-cycle': 'error', 'import-x/no-self-import': 'error' },
  },
  {
    // Playwright fixtures take their arguments as a destructured object, often an empty one.
    files: ['e2e/**/*.ts'],
    rules: { 'no-empty-pattern': 'off' },
  },
  {
    // A step's body reaches its handler typed by the schema, never by an assertion (issue 16).
    files: ['src/sim/scenario/interp.ts', 'src/sim/scenario/steps.ts', 'src/sim/scenario/expect.ts', 'src/sim/scenario/ctx.ts'],
    rules: { '@typescript-eslint/consistent-type-assertions': ['error', { assertionStyle: 'never' }] },
  },
  {
    // src/sim imports nothing from Node, Electron or Vue (docs/architecture.md).
    files: ['src/sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: HOST_MODULES, message: 'src/sim runs everywhere: no Node, Electron or Vue imports.' }] }],
    },
  },
  {
    // The renderer never touches Node: it talks to the host through the bridge.
    files: ['src/renderer/**/*.{ts,vue}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: HOST_MODULES.filter((m) => !['vue', 'pinia', 'vue-router'].includes(m)),
              message: 'the renderer reaches the host only through the bridge.',
            },
          ],
        },
      ],
    },
  },
  // Layout belongs to Prettier (checked by npm run lint): no stylistic rule may argue with it.
  prettier,
)
