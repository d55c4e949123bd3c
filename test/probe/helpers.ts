/** Test helpers: an in-memory sysroot and fixture paths. */
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SysrootError, type EntryStat, type SysrootFs } from '../../src/main/services/probe/sysroot'

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/sysroots')
export const fixture = (name: string): string => path.join(FIXTURES, name)

type Node = { kind: 'file'; data: Buffer } | { kind: 'dir' } | { kind: 'link'; target: string } | { kind: 'error'; code: string }

/**
 * An in-memory sysroot: `files` maps absolute paths to contents (string/Buffer), `{link}` to
 * symlinks, `{error}` to a read error. Parent directories are implied.
 */
export class MemoryFs implements SysrootFs {
  readonly kind = 'directory' as const
  readonly root = '/memory'
  private readonly nodes = new Map<string, Node>()
  constructor(files: Record<string, string | Buffer | { link: string } | { error: string }>) {
    this.nodes.set('/', { kind: 'dir' })
    for (const [p, v] of Object.entries(files)) {
      const parts = p.split('/').filter(Boolean)
      for (let i = 1; i < parts.length; i++) {
        const d = '/' + parts.slice(0, i).join('/')
        if (!this.nodes.has(d)) this.nodes.set(d, { kind: 'dir' })
      }
      if (typeof v === 'string' || Buffer.isBuffer(v)) this.nodes.set(p, { kind: 'file', data: Buffer.from(v) })
      else if ('link' in v) this.nodes.set(p, { kind: 'link', target: v.link })
      else this.nodes.set(p, { kind: 'error', code: v.error })
    }
  }
  private get(p: string): Node {
    const n = this.nodes.get(p)
    if (!n) throw new SysrootError('ENOENT', p)
    return n
  }
  lstat(p: string): EntryStat {
    const n = this.get(p)
    const type = n.kind === 'dir' ? 'dir' : n.kind === 'link' ? 'symlink' : 'file'
    return { type, mode: 0o444, rdev: null }
  }
  readlink(p: string): string {
    const n = this.get(p)
    if (n.kind !== 'link') throw new SysrootError('EINVAL', p)
    return n.target
  }
  readFile(p: string, maxBytes = 1 << 20): Buffer {
    const n = this.get(p)
    if (n.kind === 'error') throw new SysrootError(n.code, p)
    if (n.kind === 'dir') throw new SysrootError('EISDIR', p)
    if (n.kind !== 'file') throw new SysrootError('EINVAL', p)
    return n.data.subarray(0, maxBytes)
  }
  readdir(p: string): string[] {
    const n = this.get(p)
    if (n.kind === 'error') throw new SysrootError(n.code, p)
    if (n.kind !== 'dir') throw new SysrootError('ENOTDIR', p)
    const prefix = p === '/' ? '/' : p + '/'
    const out = new Set<string>()
    for (const k of this.nodes.keys()) if (k.startsWith(prefix) && k !== p) out.add(k.slice(prefix.length).split('/')[0] as string)
    return [...out].sort()
  }
  canReadWrite(): boolean | null {
    return null
  }
}
