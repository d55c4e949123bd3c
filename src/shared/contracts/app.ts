/** Contracts of the application itself: who is hosting, which versions, liveness and log lines. */
import { z } from 'zod'
import { defineEvent, defineRoute } from './define'

export const HostKind = z.enum(['electron', 'browser'])
export type HostKind = z.infer<typeof HostKind>

export const AppInfo = z.object({
  name: z.literal('HMM Lab'),
  version: z.string(),
  host: HostKind,
  platform: z.string(),
  arch: z.string(),
  versions: z.object({
    node: z.string(),
    v8: z.string(),
    electron: z.string().optional(),
    chrome: z.string().optional(),
  }),
  /** Workspace folder where runs are stored, when one is configured. */
  workspace: z.string().optional(),
})
export type AppInfo = z.infer<typeof AppInfo>

export const appRoutes = {
  'app.info': defineRoute('Versions, host kind (electron or browser) and platform', z.object({}).strict(), AppInfo),
}

export const Heartbeat = z.object({ seq: z.number().int().nonnegative(), uptimeMs: z.number().nonnegative() })
export const LogLine = z.object({
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
  source: z.string().optional(),
})
export type LogLine = z.infer<typeof LogLine>

export const appEvents = {
  'app.heartbeat': defineEvent('Sent every few seconds while the host is alive', Heartbeat),
  'log.line': defineEvent('A log line from the host, for the UI status bar', LogLine),
}
