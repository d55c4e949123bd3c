/**
 * Preloaded (`--import`) into process-host.ts to make it believe it is an Electron utility
 * process: messages over `process.parentPort`, no IPC channel and so no 'disconnect'. Like
 * Electron's port it keeps the process alive. Prints `ready` once the host's module has run (its
 * parent-death check is installed).
 */
const alive = setInterval(() => undefined, 60_000)
Object.assign(process, { parentPort: { on: () => undefined, postMessage: () => undefined, alive } })
setTimeout(() => process.stdout.write('ready\n'), 0)
