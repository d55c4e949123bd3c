// A server started as `npm start` starts scripts/start.mjs: it calls stopWithLauncher, listens on
// a port, closes it on SIGTERM as `hmmlab serve` does, and prints `PORT <n> WATCH <pids>`.
import { createServer } from 'node:net'
import { stopWithLauncher } from '../../../scripts/launcher-watch.mjs'

const watched = stopWithLauncher({ intervalMs: 50 })
const server = createServer((s) => s.end())
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port} WATCH ${JSON.stringify(watched)}\n`)
})
process.once('SIGTERM', () => server.close(() => process.exit(0)))
