/**
 * One route call over the browser host's HTTP API (`POST /api/invoke/<route>`, token in
 * `X-HMMLab-Token`). No window, no storage: the web Bridge uses it on the page and the series
 * worker uses it off the main thread (with the token the Bridge hands it).
 */
import type { RouteName } from '../../shared/contracts'
import { BridgeError } from './types'

/** Posts one route call and returns the unchecked `result` of the answer; throws a `BridgeError`. */
export async function postRoute(token: string | undefined, name: RouteName, input: unknown): Promise<unknown> {
  if (!token) throw new BridgeError('unauthorized', 'no token: open the URL that `hmmlab serve` printed', name)
  let res: Response
  try {
    res = await fetch(`/api/invoke/${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-HMMLab-Token': token },
      body: JSON.stringify(input ?? {}),
    })
  } catch (err) {
    throw new BridgeError('unreachable', `the HMM Lab host is not reachable: ${String(err)}`, name)
  }
  let body: { result?: unknown; error?: { code: string; message: string } }
  try {
    body = (await res.json()) as typeof body
  } catch {
    throw new BridgeError('bad_answer', `HTTP ${res.status} without a JSON body`, name)
  }
  if (!res.ok || body.error) {
    throw new BridgeError(body.error?.code ?? 'internal', body.error?.message ?? `HTTP ${res.status}`, name)
  }
  return body.result
}
