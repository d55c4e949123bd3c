/** The host's identity and connection, as a Pinia setup store over the Bridge. */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo } from '../../shared/contracts'
import { useBridge, type ConnectionState } from '../bridge'

export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo>()
  const error = ref<string>()
  const connection = ref<ConnectionState>('connecting')
  const lastHeartbeat = ref<number>()

  /** Loads `app.info` and follows the event connection. */
  async function load(): Promise<void> {
    const bridge = useBridge()
    bridge.onConnection((state) => (connection.value = state))
    bridge.on('app.heartbeat', (beat) => (lastHeartbeat.value = beat.seq))
    try {
      info.value = await bridge.invoke('app.info', {})
      error.value = undefined
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  return { info, error, connection, lastHeartbeat, load }
})
