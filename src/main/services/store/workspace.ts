/** Where the workspace lives by default: the user's data folder, per platform. */
import { homedir } from 'node:os'
import { join } from 'node:path'

/** `$XDG_DATA_HOME/hmm-lab` on Linux, the platform's application-data folder elsewhere. */
export function defaultWorkspace(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HMMLAB_WORKSPACE) return env.HMMLAB_WORKSPACE
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'HMM Lab')
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'HMM Lab')
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'hmm-lab')
}
