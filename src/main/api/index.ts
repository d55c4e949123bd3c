/** Assembles the API of one host: the router over every handler, and the event hub. */
import { EventHub } from './event-hub'
import { createHandlers } from './handlers'
import { createRouter, type HostContext, type Router } from './router'

export interface Api {
  router: Router
  hub: EventHub
}

/** Builds the API for a host (`electron` or `browser`). */
export function createApi(ctx: HostContext): Api {
  const hub = new EventHub()
  return { router: createRouter(createHandlers(), ctx), hub }
}
