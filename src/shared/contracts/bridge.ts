/**
 * What the preload exposes as `window.hmmlab` in the Electron host. Answers of `invoke` are
 * envelopes (`{ ok: true, result }` or `{ ok: false, error }`) that the renderer's IPC bridge
 * unwraps.
 */
export interface HostBridgeApi {
  readonly host: 'electron'
  invoke(name: string, input: unknown): Promise<unknown>
  on(name: string, callback: (payload: unknown) => void): () => void
}

/** The answer envelope of the IPC invoke channel. */
export type InvokeEnvelope = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; route?: string } }
