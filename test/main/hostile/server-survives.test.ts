/**
 * Issue 18: attacks that used to kill, hang or bloat the browser host, each sent to a host running
 * in a process of its own; after each one the host must still answer `app.info`. Item numbers are
 * the issue's.
 */
import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import * as tar from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IMPORT_TEXT_MAX } from '../../../src/shared/contracts'
import { rawRequest } from '../http-helpers'
import { startServerProcess, TOKEN, type ServerProcess } from './harness'

const MINIMAL = 'name: ok\ndesigns: [D1]\nsteps:\n  - spawn: { task: A }\n'

let server: ServerProcess
beforeAll(async () => {
  server = await startServerProcess({ headersTimeoutMs: 1000, idleTimeoutMs: 1000, maxConnectionsPerClient: 16 })
})
afterAll(() => server.stop())

async function expectAlive(): Promise<void> {
  expect(await server.alive(), `server died: ${server.stderr().slice(-2000)}`).toBe(true)
}

describe('the browser host survives hostile input (issue 18)', () => {
  it('1: a scenario of 1,000 nested [ sent to scenarios.validate and experiments.start', async () => {
    const deep = '['.repeat(1000) + ']'.repeat(1000)
    for (let i = 0; i < 2; i++) {
      const res = await server.call('scenarios.validate', { text: deep, fileName: 'deep.json' })
      expect(res.status).toBe(200)
      const out = JSON.parse(res.body).result
      expect(out.ok).toBe(false)
      expect(out.issues[0].message).toMatch(/nest/)
      expect(out.issues[0].line).toBe(1)
    }
    const start = await server.call('experiments.start', { scenario: { text: deep, fileName: 'deep.json' } })
    expect(start.status).toBe(400)
    await expectAlive()
  })

  it('1: a request body nested 100,000 deep is refused with 400', async () => {
    const body = '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'
    const deep = await rawRequest(server.port, { method: 'POST', path: '/api/invoke/app.info', headers: { 'x-hmmlab-token': TOKEN }, body }).catch(() => ({
      status: 0,
      body: '',
    }))
    expect(deep.status).toBe(400)
    await expectAlive()
  })

  it('2: a sweep key through __proto__ is refused and does not pollute later routes', async () => {
    const res = await server.call('experiments.start', { scenario: { text: MINIMAL, fileName: 'x.yaml' }, sweep: { axes: { '__proto__.error': [1] } } })
    expect(res.status).toBe(400)
    for (const key of ['a.__proto__.b', 'constructor.prototype.x', 'steps.0.prototype']) {
      const r = await server.call('experiments.start', { scenario: { text: MINIMAL, fileName: 'x.yaml' }, sweep: { axes: { [key]: [1] } } })
      expect(r.status, key).toBe(400)
    }
    await expectAlive()
    expect((await server.call('scenarios.list', {})).status).toBe(200)
  })

  it('3: machine: <path> outside the workspace and the library is refused without echoing the file', async () => {
    const fifo = join(server.root, 'pipe')
    execFileSync('mkfifo', [fifo])
    for (const ref of ['/etc/passwd', '/dev/zero', fifo, '../../../../etc/passwd']) {
      const res = await server.call('scenarios.validate', { text: `name: m\nmachine: ${ref}\nsteps: []\n`, fileName: 'm.yaml' })
      expect(res.status, ref).toBe(200)
      const out = JSON.parse(res.body).result
      expect(out.ok).toBe(false)
      expect(res.body).not.toContain('root:')
    }
    await expectAlive()
  })

  it('4: a FIFO in a sysroot and a manifest linked outside it', async () => {
    const sysroot = join(server.workspace, 'fifo-root')
    mkdirSync(join(sysroot, 'proc', 'sys', 'kernel'), { recursive: true })
    execFileSync('mkfifo', [join(sysroot, 'proc', 'cmdline')])
    execFileSync('mkfifo', [join(sysroot, 'proc', 'sys', 'kernel', 'osrelease')])
    const secret = join(server.root, 'secret.json')
    writeFileSync(secret, JSON.stringify({ format: 'hmmlab.capture', version: 1, devices: {}, errors: { '/proc/cpuinfo': 'SECRET-OUTSIDE' } }))
    symlinkSync(secret, join(sysroot, '.hmmlab-capture.json'))
    const res = await server.call('probe.run', { sysroot })
    expect(res.status).toBe(200)
    expect(res.body).not.toContain('SECRET-OUTSIDE')
    await expectAlive()
  })

  it('5: an oversized capture is refused, reported, and leaves no extraction folder', async () => {
    const file = join(server.root, 'huge.tar.gz')
    const header = new tar.Header({ path: 'sys/huge', size: 600 * 2 ** 20, type: 'File', mode: 0o644, mtime: new Date(0) })
    header.encode()
    writeFileSync(file, gzipSync(Buffer.concat([header.block!, Buffer.alloc(64 * 1024)])))
    const res = await server.call('probe.run', { sysroot: file })
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body).error.message).toMatch(/too large/)
    await expectAlive()
    expect(readdirSync(server.root).filter((n) => n.startsWith('hmmlab-sysroot-'))).toEqual([])
  })

  it('6: idle connections are closed and capped per client; a valid client still gets in', async () => {
    const sockets: Socket[] = []
    const closed: Promise<void>[] = []
    for (let i = 0; i < 40; i++) {
      const s = connect(server.port, '127.0.0.1')
      s.on('error', () => undefined)
      // read what the server answers (a 408): a paused socket never sees the end that follows it
      s.resume()
      closed.push(new Promise((r) => s.once('close', () => r())))
      sockets.push(s)
    }
    // The server closes what is over the cap at once and the rest once idle: every socket ends.
    await Promise.all(closed)
    await expectAlive()
  })

  it('7: runs.list with a FIFO and a /dev/zero link as manifests', async () => {
    const runs = join(server.workspace, 'runs')
    mkdirSync(join(runs, 'r-fifo'), { recursive: true })
    execFileSync('mkfifo', [join(runs, 'r-fifo', 'manifest.json')])
    mkdirSync(join(runs, 'r-zero'))
    symlinkSync('/dev/zero', join(runs, 'r-zero', 'manifest.json'))
    const res = await server.call('runs.list', {})
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).result.problems.length).toBe(2)
    await expectAlive()
  })

  it('8: a scenario near 1 MB is validated off the main thread: a request sent after it is answered first', async () => {
    const lines = ['name: big', 'designs: [D1]', 'steps:']
    for (let size = 0; size < 900_000; size += 23) lines.push('  - spawn: { task: A }')
    const order: string[] = []
    const validate = server.call('scenarios.validate', { text: lines.join('\n'), fileName: 'big.yaml' }).then((r) => {
      order.push('validate')
      return r
    })
    // Sent once the big request is on its way; answered while the parser thread works.
    await new Promise((r) => setTimeout(r, 50))
    const info = server.call('app.info', {}).then((r) => {
      order.push('app.info')
      return r
    })
    const [v, i] = await Promise.all([validate, info])
    expect(i.status).toBe(200)
    expect(v.status).toBe(200)
    expect(order).toEqual(['app.info', 'validate'])
    const over = await server.call('scenarios.validate', { text: 'x'.repeat(2 << 20), fileName: 'huge.yaml' })
    expect(over.status).toBe(413)
    await expectAlive()
  })

  it('4, 8: a sysroot of many entries is probed off the main thread: a request sent after it is answered first', async () => {
    // 3,000 PCI functions with their attributes: the reads are bounded and non-blocking, but many
    const devices = join(server.workspace, 'many-root', 'sys', 'bus', 'pci', 'devices')
    mkdirSync(devices, { recursive: true })
    for (let i = 0; i < 3000; i++) {
      const dir = join(devices, `0000:${(i >> 8).toString(16).padStart(2, '0')}:${((i >> 3) & 31).toString(16).padStart(2, '0')}.${i & 7}`)
      mkdirSync(dir)
      for (const [f, v] of [
        ['vendor', '0x1002'],
        ['device', '0x738c'],
        ['class', '0x030000'],
        ['revision', '0x01'],
      ])
        writeFileSync(join(dir, f!), `${v}\n`)
      writeFileSync(join(dir, 'config'), Buffer.alloc(256))
    }
    const order: string[] = []
    const probe = server.call('probe.run', { sysroot: join(server.workspace, 'many-root') }).then((r) => {
      order.push('probe')
      return r
    })
    await new Promise((r) => setTimeout(r, 50))
    const info = server.call('app.info', {}).then((r) => {
      order.push('app.info')
      return r
    })
    const [p, i] = await Promise.all([probe, info])
    expect(i.status).toBe(200)
    expect(p.status, p.body.slice(0, 500)).toBe(200)
    expect(JSON.parse(p.body).result.report.pci).toHaveLength(3000)
    expect(order).toEqual(['app.info', 'probe'])
    await expectAlive()
  })

  it('1: scenarios.import of an strace line nested 100,000 deep, twice: issues with the line, no stack overflow', async () => {
    const line = `100 1700000000.000001 mmap(${'['.repeat(100_000)}1${']'.repeat(100_000)}, 4096) = 0x7f0000000000\n`
    for (let i = 0; i < 2; i++) {
      const res = await server.call('scenarios.import', { kind: 'strace', text: line, fileName: 'deep.log' })
      expect(res.status).toBe(200)
      const out = JSON.parse(res.body).result
      expect(out).toMatchObject({ ok: false, issues: [{ line: 1, message: expect.stringMatching(/nested deeper than 64 levels/) }] })
    }
    await expectAlive()
  })

  it('1, 2: calibration.import nested 100,000 deep or keyed __proto__ is refused with the field; later routes answer', async () => {
    const deep = '{"params":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'
    for (let i = 0; i < 2; i++) {
      const res = await server.call('calibration.import', { text: deep })
      expect(res.status).toBe(400)
      expect(JSON.parse(res.body).error.message).toMatch(/:1: nested deeper than 64 levels/)
    }
    const polluting = '{"format": "hmmlab.calibration", "params": {"__proto__": {"polluted": 1}}, "fits": {}}'
    const res = await server.call('calibration.import', { text: polluting })
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body).error.message).toMatch(/params\.__proto__: not a cost parameter name/)
    // a syntax error names the line, never quotes the text
    const bad = await server.call('calibration.import', { text: '{\n"SECRET-TEXT": }' })
    expect(bad.status).toBe(400)
    expect(bad.body).not.toContain('SECRET-TEXT')
    await expectAlive()
    expect((await server.call('calibration.get', {})).status).toBe(200)
    expect((await server.call('designs.list', {})).status).toBe(200)
  })

  it('3, 7: a workspace scenario that is a FIFO or a link out is refused by scenarios.get; scenarios.list answers', async () => {
    const dir = join(server.workspace, 'scenarios')
    mkdirSync(dir, { recursive: true })
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')])
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'))
    symlinkSync('/etc/passwd', join(dir, 'passwd.yaml'))
    for (const name of ['pipe.yaml', 'zero.yaml', 'passwd.yaml']) {
      const res = await server.call('scenarios.get', { id: `workspace:${name}` })
      expect(res.status, name).toBe(400)
      expect(res.body, name).not.toContain('root:')
    }
    expect(JSON.parse((await server.call('scenarios.get', { id: 'workspace:pipe.yaml' })).body).error.message).toMatch(/not a regular file/)
    expect((await server.call('scenarios.list', {})).status).toBe(200)
    await expectAlive()
  })

  it('8: a 900 KiB smaps is imported off the main thread, and a scenario over the limits is refused with its size', async () => {
    // as much as the route takes (IMPORT_TEXT_MAX): one anonymous page mapped every 8 KiB
    let text = ''
    for (let i = 0; ; i++) {
      const start = 0x100000000 + i * 0x2000
      const vma = `${start.toString(16)}-${(start + 0x1000).toString(16)} rw-p 00000000 00:00 0 \nRss: 4 kB\n`
      if (text.length + vma.length > IMPORT_TEXT_MAX) break
      text += vma
    }
    const order: string[] = []
    const imported = server.call('scenarios.import', { kind: 'proc', text, fileName: 'big.smaps' }).then((r) => {
      order.push('import')
      return r
    })
    await new Promise((r) => setTimeout(r, 50))
    const info = server.call('app.info', {}).then((r) => {
      order.push('app.info')
      return r
    })
    const [imp, i] = await Promise.all([imported, info])
    expect(i.status).toBe(200)
    expect(imp.status).toBe(200)
    expect(order).toEqual(['app.info', 'import'])
    expect(JSON.parse(imp.body).result).toMatchObject({
      ok: false,
      issues: [{ path: 'proc', message: expect.stringMatching(/^the scenario would be \d+ KiB, more than the 1024 KiB a scenario may be/) }],
    })
    await expectAlive()
  })

  it('9: a malformed request URL gets 400 before authentication', async () => {
    const res = await new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.write(`GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`))
      let data = ''
      s.setEncoding('utf8').on('data', (d: string) => (data += d))
      s.on('close', () => resolve(data))
      s.on('error', () => resolve(data))
    })
    expect(res).toMatch(/^HTTP\/1\.1 400/)
    await expectAlive()
  })
})
