/** Assembles the API of one host: the services, the router over every handler, and the event hub. */
import { createLabServices, type LabServices, type LabServicesOptions } from '../services'
import { EventHub } from './event-hub'
import { createHandlers } from './handlers'
import { createRouter, type HostContext, type Router } from './router'

export interface Api {
  router: Router
  hub: EventHub
  services: LabServices
  close(): Promise<void>
}

/** Builds the API for a host (`electron` or `browser`). */
export function createApi(ctx: HostContext, opts: Omit<LabServicesOptions, 'hub'> = {}): Api {
  const hub = new EventHub()
  const services = createLabServices({ ...opts, hub, ...(ctx.workspace ? { workspace: ctx.workspace } : {}) })
  return { router: createRouter(createHandlers(services), { ...ctx, workspace: services.workspace }), hub, services, close: () => services.close() }
}
