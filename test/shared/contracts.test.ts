import { describe, expect, it } from 'vitest'
import { EVENT_NAMES, ROUTE_NAMES, events, isEventName, isRouteName, routes } from '../../src/shared/contracts'

describe('contracts', () => {
  it('name lists match the contract tables', () => {
    expect(Object.keys(routes).sort()).toEqual([...ROUTE_NAMES].sort())
    expect(Object.keys(events).sort()).toEqual([...EVENT_NAMES].sort())
  })

  it('every route and event has a description and schemas', () => {
    for (const [name, r] of Object.entries(routes)) {
      expect(r.description, name).not.toBe('')
      expect(typeof r.input.safeParse, name).toBe('function')
      expect(typeof r.output.safeParse, name).toBe('function')
    }
    for (const [name, e] of Object.entries(events)) {
      expect(e.description, name).not.toBe('')
    }
  })

  it('name guards accept only contract names', () => {
    expect(isRouteName('app.info')).toBe(true)
    expect(isRouteName('constructor')).toBe(false)
    expect(isRouteName(undefined)).toBe(false)
    expect(isEventName('log.line')).toBe(true)
    expect(isEventName('app.info')).toBe(false)
  })

  it('app.info output rejects an unknown host kind', () => {
    const base = { name: 'HMM Lab', version: '1', platform: 'linux', arch: 'x64', versions: { node: '20', v8: '11' } }
    expect(routes['app.info'].output.safeParse({ ...base, host: 'browser' }).success).toBe(true)
    expect(routes['app.info'].output.safeParse({ ...base, host: 'tauri' }).success).toBe(false)
  })
})
