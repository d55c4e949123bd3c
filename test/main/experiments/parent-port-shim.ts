/**
 * Starts process-host.ts as Electron starts a utility process: no `process.send` for the host to
 * use, only `process.parentPort` (here bridged onto the fork channel, since plain Node has no
 * utility processes). Used by electron-utility-process.test.ts.
 */
const send = process.send!.bind(process)
const listeners: ((e: { data: unknown }) => void)[] = []
// Like Electron's parentPort, messages wait in a queue until a listener is attached.
const queued: unknown[] = []
process.on('message', (data) => {
  if (listeners.length === 0) queued.push(data)
  for (const fn of listeners) fn({ data })
})
;(process as unknown as { parentPort: unknown }).parentPort = {
  on: (_event: 'message', fn: (e: { data: unknown }) => void) => {
    listeners.push(fn)
    for (const data of queued.splice(0)) fn({ data })
  },
  postMessage: (msg: unknown) => send(msg as never),
}
// The host must not use the fork channel itself.
;(process as { send?: unknown }).send = undefined
await import('../../../src/main/services/experiments/process-host')
export {}
