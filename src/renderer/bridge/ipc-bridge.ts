/** The Bridge over Electron IPC, through `window.hmmlab` exposed by the preload. */
import type { InvokeEnvelope, HostBridgeApi } from '../../shared/contracts/bridge'
import { BridgeError, type Bridge } from './types'
import { checkAnswer, checkEvent } from './validate'

export function createIpcBridge(api: HostBridgeApi): Bridge {
  return {
    host: 'electron',
    async invoke(name, input) {
      const envelope = (await api.invoke(name, input)) as InvokeEnvelope
      if (!envelope || typeof envelope !== 'object') throw new BridgeError('bad_answer', 'malformed IPC answer', name)
      if (!envelope.ok) throw new BridgeError(envelope.error.code, envelope.error.message, name)
      return checkAnswer(name, envelope.result)
    },
    // IPC lives on the page (window.hmmlab): a worker cannot call it; the page passes bytes on.
    offThread: () => ({ kind: 'none' }),
    on(name, callback) {
      return api.on(name, (payload) => {
        const checked = checkEvent(name, payload)
        if (checked !== undefined) callback(checked)
      })
    },
    onConnection(callback) {
      callback('open')
      return () => undefined
    },
  }
}
