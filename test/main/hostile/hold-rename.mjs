// Preloaded (`node --import`) into a CLI child by atomic-leftovers.test.ts: the first rename of a
// temporary file of an atomic write (`.NAME.tmp-PID-HEX`) prints `HOLD <temp>` on stderr and
// blocks forever, so the test can kill the process with SIGKILL at exactly that point: the data is
// in the temporary file and flushed, the target not yet replaced. No timing is involved.
import { createRequire, syncBuiltinESMExports } from 'node:module'

const require = createRequire(import.meta.url)
const fs = require('node:fs')
const renameSync = fs.renameSync
fs.renameSync = function (from, to) {
  if (/\.tmp-\d+-[0-9a-f]{8}$/.test(String(from))) {
    fs.writeSync(2, `HOLD ${String(from)}\n`)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
  }
  return renameSync.call(this, from, to)
}
syncBuiltinESMExports()
