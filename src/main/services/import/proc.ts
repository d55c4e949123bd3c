/**
 * `hmmlab import proc`: a process's address space at one moment — from /proc/PID/smaps (or a saved
 * copy; /proc/PID/maps alone gives the VMAs without their resident pages) — as a scenario: one
 * mmap per VMA (protection, private/shared, anonymous or file, THP-eligible, hugetlb) at its
 * address (moved below 16 TiB by AddrMap), and touches of its resident part: smaps' Anonymous bytes
 * written, the rest of Rss read. smaps does not say which pages are resident, only how many: the
 * importer touches them from the start of the VMA (from the top for a stack, which grows down).
 *
 * Pure TypeScript (no Node imports); `readProcFiles` in proc-live.ts reads a live process.
 */
import type { DesignIdT, Scenario, StepT } from '../../../shared/scenario'
import { AddrMap, AddrMapError, PAGE, hex, safeName, sizeText } from './addr-map'
import { ImportError, type ImportIssue } from './strace'
import { importedMachine, writeScenarioYaml, type Item, type Unmapped } from './writer'

export interface ProcImportOptions {
  name?: string
  sourceName?: string
  notes?: string[]
  /** the process's name (comm) */
  comm?: string
  pid?: number
  designs?: DesignIdT[]
  device?: 'dmirror' | 'gpu'
  iommu?: 'intel' | 'amd' | 'arm'
  /** device_read of every readable VMA after the layout is built (default with a device: mapped) */
  deviceRead?: 'none' | 'mapped'
  deviceReadMax?: number
  forkExit?: boolean
  maxErrors?: number
}

export interface Vma {
  line: number
  start: number
  end: number
  perms: string
  offset: number
  dev: string
  inode: number
  path: string
  fields: Map<string, number>
  vmflags: string[]
  thpEligible: boolean | null
}

/** smaps fields the importer turns into touches: page multiples within the VMA. */
const PAGED_FIELDS = new Set(['Rss', 'Anonymous'])

const HEAD_RE = /^([0-9a-f]+)-([0-9a-f]+)\s+([r-][w-][x-][ps])\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s*(.*)$/
const FIELD_RE = /^([A-Za-z_]+):\s+(\d+)(?:\s+kB)?\s*$/

/** Parses /proc/PID/maps or /proc/PID/smaps text. */
export function parseMaps(text: string, maxErrors = 20): { vmas: Vma[]; errors: ImportIssue[]; smaps: boolean } {
  const vmas: Vma[] = []
  const errors: ImportIssue[] = []
  let smaps = false
  const lines = text.split('\n')
  for (let i = 0; i < lines.length && errors.length < maxErrors; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '')
    if (raw.trim() === '') continue
    const h = HEAD_RE.exec(raw)
    if (h) {
      const start = parseInt(h[1] as string, 16)
      const end = parseInt(h[2] as string, 16)
      if (end <= start || start % PAGE !== 0 || end % PAGE !== 0) {
        errors.push({ line: i + 1, column: 1, reason: `the range ${h[1]}-${h[2]} is empty or not page aligned` })
        continue
      }
      const prev = vmas[vmas.length - 1]
      if (prev && start < prev.end) {
        errors.push({ line: i + 1, column: 1, reason: `the VMA ${h[1]}-${h[2]} overlaps or precedes the one before it (maps lists VMAs in address order)` })
        continue
      }
      vmas.push({
        line: i + 1,
        start,
        end,
        perms: h[3] as string,
        offset: parseInt(h[4] as string, 16),
        dev: h[5] as string,
        inode: Number(h[6]),
        path: (h[7] as string).trim(),
        fields: new Map(),
        vmflags: [],
        thpEligible: null,
      })
      continue
    }
    const cur = vmas[vmas.length - 1]
    const f = FIELD_RE.exec(raw)
    if (f && cur) {
      smaps = true
      const key = f[1] as string
      if (key === 'THPeligible') cur.thpEligible = f[2] === '1'
      else {
        // the kernel prints whole pages, never more than the VMA holds; a value that is not
        // would be written into touches the scenario language refuses (a corrupt import)
        const bytes = Number(f[2]) * 1024
        const why = !Number.isSafeInteger(bytes)
          ? 'is too large a number'
          : PAGED_FIELDS.has(key) && bytes % PAGE !== 0
            ? 'is not a whole number of 4 KiB pages'
            : PAGED_FIELDS.has(key) && bytes > cur.end - cur.start
              ? `is more than the VMA's ${(cur.end - cur.start) / 1024} kB`
              : undefined
        if (why) errors.push({ line: i + 1, column: 1, reason: `${key}: ${f[2]!.slice(0, 24)}${f[2]!.length > 24 ? '…' : ''} kB ${why}` })
        else cur.fields.set(key, bytes)
      }
      continue
    }
    const vf = /^VmFlags:\s*(.*)$/.exec(raw)
    if (vf && cur) {
      smaps = true
      cur.vmflags = (vf[1] as string).trim().split(/\s+/).filter(Boolean)
      continue
    }
    if (cur && /^[A-Za-z_]+:/.test(raw)) {
      // a field this parser does not use (ProtectionKey: 0, a newer kernel's addition)
      smaps = true
      continue
    }
    errors.push({
      line: i + 1,
      column: 1,
      reason: cur
        ? `expected a "Field: N kB" line of smaps or a VMA line "start-end perms offset dev inode path", found ${JSON.stringify(raw.slice(0, 40))}`
        : `expected a VMA line "start-end perms offset dev inode path", found ${JSON.stringify(raw.slice(0, 40))}`,
    })
  }
  return { vmas, errors, smaps }
}

const SPECIAL = new Set(['[vdso]', '[vvar]', '[vvar_vclock]', '[vsyscall]', '[uprobes]', '[sigpage]', '[vectors]'])

function protOf(perms: string): 'none' | 'r' | 'rw' | 'rx' | 'rwx' {
  const w = perms[1] === 'w'
  const x = perms[2] === 'x'
  if (w && x) return 'rwx'
  if (w) return 'rw'
  if (x) return 'rx'
  return perms[0] === 'r' ? 'r' : 'none'
}

/** A scenario of the address space described by smaps (or maps) text. */
export function importProc(
  smapsText: string,
  opts: ProcImportOptions = {},
): { yaml: string; scenario: Scenario; unmapped: Unmapped[]; stats: { vmas: number; residentBytes: number; mappedBytes: number } } {
  const { vmas, errors, smaps } = parseMaps(smapsText, opts.maxErrors ?? 20)
  if (errors.length > 0) throw new ImportError(errors, 'the maps/smaps text')
  if (vmas.length === 0)
    throw new ImportError([{ line: 1, column: 0, reason: 'no VMA lines (expected the text of /proc/PID/maps or /proc/PID/smaps)' }], 'the maps/smaps text')
  const unmapped: Unmapped[] = []
  const items: Item[] = []
  const usable = vmas.filter((v) => !SPECIAL.has(v.path))
  for (const v of vmas)
    if (SPECIAL.has(v.path))
      unmapped.push({ line: v.line, what: v.path, reason: 'a special mapping the kernel installs (vDSO data/code, vsyscall): no mmap can create it' })
  let amap: AddrMap
  try {
    amap = new AddrMap(usable.map((v): [number, number, number] => [v.start, v.end, v.line]))
  } catch (err) {
    const line = err instanceof AddrMapError && err.line !== null ? err.line : 1
    throw new ImportError([{ line, column: 0, reason: (err as Error).message }], 'the maps/smaps text')
  }
  const task = safeName(`${opts.comm ?? 'proc'}${opts.pid !== undefined ? `-${opts.pid}` : ''}`, 'proc')
  const withDevice = opts.device !== undefined
  const readMode = withDevice ? (opts.deviceRead ?? 'mapped') : 'none'
  const readMax = opts.deviceReadMax ?? 16 << 20
  const steps: StepT[] = []
  const emit = (s: StepT, comment?: string): void => {
    steps.push(s)
    items.push(comment !== undefined ? { step: s, comment } : { step: s })
  }
  emit({ spawn: { task } }, `the process${opts.pid !== undefined ? ` (pid ${opts.pid})` : ''}`)
  if (withDevice) {
    emit({ open: { task, device: 'dev0', fd: 'dev' } }, '--device: the process opens the device')
    emit({ mirror: { task, fd: 'dev' } }, 'and mirrors its address space')
  }
  let files = 0
  const fileCount = new Map<string, number>()
  const names = new Set<string>()
  const regionName = (base: string, addr: number): string => {
    let n = `${safeName(base, 'r')}-${addr.toString(16)}`
    for (let i = 2; names.has(n); i++) n = `${safeName(base, 'r')}-${addr.toString(16)}.${i}`
    names.add(n)
    return n
  }
  let resident = 0
  let mapped = 0
  const readable: Array<{ region: string; size: number }> = []
  for (const v of usable) {
    const size = v.end - v.start
    mapped += size
    const shared = v.perms[3] === 's'
    const prot = protOf(v.perms)
    const rss = v.fields.get('Rss') ?? 0
    const anonBytes = Math.min(rss, v.fields.get('Anonymous') ?? 0)
    const thp = v.fields.get('AnonHugePages') ?? 0
    const swap = v.fields.get('Swap') ?? 0
    const hugetlb = v.vmflags.includes('ht') || (v.fields.get('Private_Hugetlb') ?? 0) + (v.fields.get('Shared_Hugetlb') ?? 0) > 0
    const isFile = v.path.startsWith('/') && v.inode !== 0
    const isShmAnon = shared && (v.path === '' || v.path.startsWith('/dev/zero') || v.path.startsWith('/SYSV') || v.path.startsWith('[anon_shmem'))
    let base: string
    let fd: string | undefined
    if (v.path === '[heap]') base = 'heap'
    else if (v.path === '[stack]') base = 'stack'
    else if (v.path.startsWith('[anon:')) base = `anon_${v.path.slice(6, -1)}`
    else if (isShmAnon || v.path === '') base = shared ? 'shm' : 'anon'
    else if (isFile && !v.path.startsWith('/dev/') && !hugetlb) {
      const p = v.path.replace(/ \(deleted\)$/, '')
      base = p.split('/').pop() || 'file'
      // one tmpfs file per VMA: the language maps a file from its first page, so VMAs of one file
      // at different offsets would share page-cache pages they do not share in the kernel
      const n = (fileCount.get(p) ?? 0) + 1
      fileCount.set(p, n)
      fd = `${safeName(base, 'file')}.f${++files}`
      emit({ open_tmpfile: { task, fd, size: sizeText(size) } }, `open ${JSON.stringify(p)}${n > 1 ? ` (mapping ${n} of this file)` : ''}`)
      if (v.offset !== 0)
        unmapped.push({
          line: v.line,
          what: 'file offset',
          reason:
            'the language maps a file from its first page: each VMA of a file gets a tmpfs file of its own (page counts are exact, sharing between VMAs of one file is lost)',
        })
    } else {
      base = safeName(v.path.split('/').pop() ?? 'map', 'map')
      unmapped.push({
        line: v.line,
        what: `mapping of ${v.path}`,
        reason: hugetlb ? 'a hugetlbfs file mapping: mapped as private hugetlb memory' : 'a device or special file: mapped as anonymous memory',
      })
    }
    const region = regionName(base, v.start)
    // a private file mapping with anonymous (COW) pages but no write permission now (RELRO): it
    // was written before an mprotect took the write permission away; replay that history
    const replayWrite = anonBytes > 0 && !prot.includes('w') && !shared && !hugetlb
    const mapProt = replayWrite ? (prot.includes('x') ? 'rwx' : 'rw') : prot
    const mm: Record<string, unknown> = { task, region, size: sizeText(size), prot: mapProt }
    if (shared && (fd !== undefined || isShmAnon)) mm.shared = true
    if (v.vmflags.includes('hg') || thp > 0) mm.huge = true
    if (hugetlb) mm.hugetlb = true
    if (fd !== undefined) mm.fd = fd
    mm.at = amap.toSim(v.start)
    emit({ mmap: mm } as unknown as StepT, `L${v.line}: ${hex(v.start)}-${hex(v.end)} ${v.perms} ${v.path}${thp > 0 ? ` (${sizeText(thp)} in THPs)` : ''}`)
    if (hugetlb)
      unmapped.push({
        line: v.line,
        what: 'hugetlb VMA',
        reason: 'needs pages in the hugetlb pool: add an nr_hugepages step before it, or the mmap returns -ENOMEM',
      })
    if (smaps && rss > 0 && prot !== 'none') {
      const stack = v.path === '[stack]'
      const fileBytes = rss - anonBytes
      // stack: resident at the top; others from the start
      const anonOff = stack ? size - rss : 0
      if (anonBytes > 0)
        emit(
          { touch: { task, region, ...(anonOff ? { offset: sizeText(anonOff) } : {}), size: sizeText(anonBytes), write: true } } as StepT,
          `Anonymous ${sizeText(anonBytes)}${thp > 0 ? `, AnonHugePages ${sizeText(thp)}` : ''}`,
        )
      if (fileBytes > 0) {
        const off = anonOff + anonBytes
        emit(
          { touch: { task, region, ...(off ? { offset: sizeText(off) } : {}), size: sizeText(fileBytes) } } as StepT,
          `Rss − Anonymous: ${sizeText(fileBytes)} of page cache${shared ? ' (shared)' : ''}`,
        )
      }
      if (replayWrite)
        emit({ mprotect: { task, region, prot } }, `back to ${v.perms.slice(0, 3)} (the write permission was dropped after the writes, as RELRO does)`)
      resident += rss
    } else if (smaps && rss > 0) {
      unmapped.push({ line: v.line, what: 'resident pages of a PROT_NONE VMA', reason: 'pages that were written before an mprotect(PROT_NONE): not replayed' })
    }
    if (swap > 0)
      unmapped.push({ line: v.line, what: 'Swap', reason: `${sizeText(swap)} swapped out: the model has no swap, these pages are left unpopulated` })
    if (prot !== 'none' && !hugetlb) readable.push({ region, size })
  }
  if (!smaps) unmapped.push({ line: 1, what: 'resident pages', reason: 'a maps file says nothing about resident pages: give the smaps text for the touches' })
  if (readMode === 'mapped')
    for (const r of readable)
      emit(
        { device_read: { task, region: r.region, size: sizeText(Math.min(r.size, readMax)), fd: 'dev' } },
        `--device-read mapped${r.size > readMax ? ` (first ${sizeText(readMax)})` : ''}`,
      )
  items.push({ comment: 'the snapshot ends here; the exit below shows the teardown of this address space' })
  if (withDevice && opts.forkExit) {
    emit({ fork: { task, child: `${task}-heir` } }, '--fork-exit: a child inherits the device fd')
    emit({ exit: { task } })
    emit({ sleep: '10ms' })
    emit({
      expect: { label: "D1: the child's inherited device fd pins the exited parent's mm (mm_users) until it exits", design: 'D1', mm: { task, phase: 'live' } },
    } as StepT)
    emit({ exit: { task: `${task}-heir` } })
  } else emit({ exit: { task } })
  emit({ sleep: '100ms' })
  emit({ expect: { label: 'after the exit nothing is left and nothing was used after free', leaked_bytes: 0, findings: { count: 0 } } } as StepT)

  const sc: Omit<Scenario, 'steps'> = {
    name: opts.name ?? `address space of ${opts.comm ?? 'a process'}${opts.pid !== undefined ? ` (pid ${opts.pid})` : ''}`,
    description: `Imported by hmmlab import proc from ${opts.sourceName ?? 'a maps/smaps text'}: ${usable.length} VMAs, ${sizeText(mapped)} mapped, ${sizeText(resident)} resident.`,
    seed: 1,
  }
  if (opts.designs) sc.designs = opts.designs
  if (opts.device) sc.machine = importedMachine(opts.device, opts.iommu)
  const header = [
    `Imported by \`hmmlab import proc\` from ${opts.sourceName ?? 'a maps/smaps text'} (${vmas.length} VMAs).`,
    ...(opts.notes ?? []),
    `Addresses: each 1 GiB window of the real address space is moved below the simulator's 16 TiB limit (${amap.clusters.length} windows); region names and comments keep the real addresses (L<n> = line of the smaps text).`,
    "smaps gives how many pages of a VMA are resident, not which: the touches start at the VMA's first page (a stack's last).",
  ]
  const scenario = { ...sc, steps } as Scenario
  return {
    yaml: writeScenarioYaml(header, sc, items, unmapped),
    scenario,
    unmapped,
    stats: { vmas: usable.length, residentBytes: resident, mappedBytes: mapped },
  }
}
