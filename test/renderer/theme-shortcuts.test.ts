import { describe, expect, it } from 'vitest'
import { shortcutFor, type Shortcut } from '../../src/renderer/lib/shortcuts'
import { effectiveScheme, nextTheme, recolour } from '../../src/renderer/lib/theme'

describe('colour scheme', () => {
  it('cycles system → light → dark → system; a forced choice wins over the system', () => {
    expect(nextTheme('system')).toBe('light')
    expect(nextTheme('light')).toBe('dark')
    expect(nextTheme('dark')).toBe('system')
    expect(effectiveScheme('dark')).toBe('dark')
    expect(effectiveScheme('light')).toBe('light')
  })
  it('recolours the text and grid options of a chart, never its data', () => {
    const light = { fg: '#111111', muted: '#555555', line: '#dddddd' }
    const dark = { fg: '#eeeeee', muted: '#999999', line: '#222222' }
    const options = {
      color: '#111111',
      scales: { x: { grid: { color: '#dddddd' }, ticks: { color: '#555555' } } },
      plugins: { legend: { labels: { color: '#111111' } } },
      data: { x: '#111111' },
    }
    expect(recolour(options, light, dark)).toBe(4)
    expect(options).toEqual({
      color: '#eeeeee',
      scales: { x: { grid: { color: '#222222' }, ticks: { color: '#999999' } } },
      plugins: { legend: { labels: { color: '#eeeeee' } } },
      data: { x: '#111111' },
    })
    expect(recolour(options, dark, dark)).toBe(0)
  })
})

describe('keyboard shortcuts', () => {
  const ran: string[] = []
  const list: Shortcut[] = [
    { key: '?', description: 'help', scope: 'Everywhere', run: () => ran.push('help') },
    { key: '+', description: 'zoom', scope: 'Results', run: () => ran.push('zoom') },
    { key: '+', description: 'zoom the timeline', scope: 'Timeline', run: () => ran.push('zoom timeline') },
  ]
  const ev = (key: string, extra: Partial<KeyboardEvent> = {}): Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'> => ({
    key,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    target: null,
    ...extra,
  })
  it('the latest registration of a key wins; modifiers are left to the browser', () => {
    shortcutFor(ev('+'), list)?.run()
    expect(ran).toEqual(['zoom timeline'])
    expect(shortcutFor(ev('?', { ctrlKey: true }), list)).toBeUndefined()
    expect(shortcutFor(ev('x'), list)).toBeUndefined()
  })
  it('never takes a key typed into a field or the editor', () => {
    const field = { tagName: 'INPUT', type: 'text', isContentEditable: false, closest: () => null }
    const box = { tagName: 'INPUT', type: 'checkbox', isContentEditable: false, closest: () => null }
    const editor = { tagName: 'DIV', isContentEditable: true, closest: () => ({}) }
    expect(shortcutFor(ev('?', { target: field as unknown as EventTarget }), list)).toBeUndefined()
    expect(shortcutFor(ev('?', { target: editor as unknown as EventTarget }), list)).toBeUndefined()
    expect(shortcutFor(ev('?', { target: box as unknown as EventTarget }), list)?.description).toBe('help')
  })
})
