import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const pkg = JSON.parse(readFileSync(resolve(__dirname, 'package.json'), 'utf8')) as { version: string }
const define = { __APP_VERSION__: JSON.stringify(pkg.version) }

export default defineConfig({
  main: {
    define,
    build: {
      // The same bundle runs in Electron and under the system Node 20 (CLI, browser host).
      target: 'node20',
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          cli: resolve(__dirname, 'src/main/cli/index.ts'),
          // The experiment worker: its own entry, loaded by piscina from out/main/run-worker.js.
          'run-worker': resolve(__dirname, 'src/main/services/experiments/run-worker.ts'),
          // The scenario parser's thread (validation and planning off the main thread).
          'parse-worker': resolve(__dirname, 'src/main/services/parse-worker.ts'),
          // A run process (process isolation): a child Node process hosting one run thread.
          'run-process': resolve(__dirname, 'src/main/services/experiments/process-host.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload must be one CommonJS file.
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    define,
    plugins: [vue()],
    base: './',
    // resources/icon.png becomes the page's icon (the window's icon comes from the same file).
    publicDir: resolve(__dirname, 'resources'),
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'src/renderer/index.html') },
    },
  },
})
