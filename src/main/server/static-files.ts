/**
 * Serves the built renderer from one folder. Paths are decoded, normalised and must stay inside
 * the folder; symlinks are resolved and checked too. Unknown paths answer 404, never a listing.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
}

export interface StaticFile {
  path: string
  size: number
  contentType: string
}

/**
 * Resolves a URL path to a file inside `root`, or undefined when it does not exist or would
 * leave the folder (`..`, encoded slashes, NUL bytes, symlinks out).
 */
export async function resolveStaticFile(root: string, urlPath: string): Promise<StaticFile | undefined> {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '')
  if (relative.split('/').some((part) => part === '..')) return undefined
  const rootReal = await realpath(root).catch(() => undefined)
  if (!rootReal) return undefined
  const candidate = resolve(rootReal, relative)
  if (!candidate.startsWith(rootReal + sep)) return undefined
  const real = await realpath(candidate).catch(() => undefined)
  if (!real || !real.startsWith(rootReal + sep)) return undefined
  const info = await stat(real).catch(() => undefined)
  if (!info?.isFile()) return undefined
  return { path: real, size: info.size, contentType: CONTENT_TYPES[extname(real)] ?? 'application/octet-stream' }
}

/** Opens a stream over a resolved file. */
export function openStaticFile(file: StaticFile): NodeJS.ReadableStream {
  return createReadStream(file.path)
}
