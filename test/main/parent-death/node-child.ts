/** A Node child without an IPC channel (as Electron under `npm start`): it must end with its parent. */
import { exitWithParent } from '../../../src/main/services/parent-death'

exitWithParent({ parentPid: Number(process.argv[2]) })
setInterval(() => undefined, 60_000)
process.stdout.write('ready\n')
