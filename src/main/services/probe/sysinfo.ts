/**
 * CPU, memory, OS and GPU controllers from the `systeminformation` package, run in a
 * `worker_threads` worker: `graphics()` shells out synchronously to `lspci` and `nvidia-smi`,
 * which must not block the main (or Electron main) thread. Without `lspci` it returns no
 * controllers; the section then says so (the probe's own `/sys` reading still lists GPUs).
 */
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { Worker } from 'node:worker_threads'
import type { SystemSection } from '../../../shared/probe'

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const si = require(workerData.modulePath);
(async () => {
  const out = {};
  const safe = async (name, fn) => {
    try { out[name] = await fn(); } catch (e) { out[name + 'Error'] = String((e && e.message) || e); }
  };
  await safe('cpu', () => si.cpu());
  await safe('mem', () => si.mem());
  await safe('os', () => si.osInfo());
  await safe('graphics', () => si.graphics());
  parentPort.postMessage(out);
})();
`

/** Whether an executable named `name` is on PATH. */
export function onPath(name: string, envPath = process.env['PATH'] ?? ''): boolean {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK)
      return true
    } catch {
      // keep looking
    }
  }
  return false
}

type Raw = Record<string, unknown>
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '')
const numOr = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const obj = (v: unknown): Raw | null => (typeof v === 'object' && v !== null ? (v as Raw) : null)

/** Maps the worker's raw answer to the report section (pure; exported for tests). */
export function toSystemSection(raw: Raw, lspci: boolean): SystemSection {
  const errors = Object.keys(raw).filter((k) => k.endsWith('Error'))
  const cpu = obj(raw['cpu'])
  const mem = obj(raw['mem'])
  const os = obj(raw['os'])
  const graphics = obj(raw['graphics'])
  const controllers = Array.isArray(graphics?.['controllers']) ? (graphics['controllers'] as unknown[]) : []
  const notes: string[] = []
  if (!lspci) notes.push('lspci not found: systeminformation lists no GPU controllers; see the PCI and DRM sections read from /sys')
  for (const e of errors) notes.push(`${e.replace(/Error$/, '')}: ${str(raw[e])}`)
  return {
    status: errors.length === 0 ? (lspci ? 'ok' : 'partial') : errors.length >= 4 ? 'unavailable' : 'partial',
    note: notes.length ? notes.join('; ') : null,
    cpu: cpu
      ? { manufacturer: str(cpu['manufacturer']), brand: str(cpu['brand']), cores: numOr(cpu['cores']), physicalCores: numOr(cpu['physicalCores']) }
      : null,
    memory: mem ? { totalBytes: numOr(mem['total']) } : null,
    os: os ? { platform: str(os['platform']), distro: str(os['distro']), release: str(os['release']), kernel: str(os['kernel']), arch: str(os['arch']) } : null,
    gpus: controllers.map((c) => {
      const o = obj(c) ?? {}
      const vram = o['vram']
      return {
        vendor: str(o['vendor']),
        model: str(o['model']),
        bus: str(o['bus']),
        busAddress: typeof o['busAddress'] === 'string' && o['busAddress'] ? (o['busAddress'] as string) : null,
        vramMiB: typeof vram === 'number' && Number.isFinite(vram) ? vram : null,
      }
    }),
  }
}

/** Runs systeminformation in a worker; never rejects. */
export async function collectSystemInformation(timeoutMs = 20_000): Promise<SystemSection> {
  const lspci = onPath('lspci')
  let modulePath: string
  try {
    modulePath = createRequire(import.meta.url).resolve('systeminformation')
  } catch {
    return { status: 'unavailable', note: 'systeminformation package not found', cpu: null, memory: null, os: null, gpus: [] }
  }
  return new Promise<SystemSection>((resolve) => {
    let settled = false
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath }, stdout: true, stderr: true })
    const finish = (s: SystemSection) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      void worker.terminate()
      resolve(s)
    }
    const timer = setTimeout(
      () => finish({ status: 'unavailable', note: `systeminformation did not answer within ${timeoutMs} ms`, cpu: null, memory: null, os: null, gpus: [] }),
      timeoutMs,
    )
    worker.on('message', (m: unknown) => finish(toSystemSection(obj(m) ?? {}, lspci)))
    worker.on('error', (e) =>
      finish({ status: 'unavailable', note: `systeminformation worker failed: ${e.message}`, cpu: null, memory: null, os: null, gpus: [] }),
    )
    worker.on('exit', (code) =>
      finish({ status: 'unavailable', note: `systeminformation worker exited (${code})`, cpu: null, memory: null, os: null, gpus: [] }),
    )
  })
}
