/**
 * The kprobe events the guest installs, with `struct mmu_notifier_range` offsets measured for the
 * tree being built: the struct and `enum mmu_notifier_event` are copied out of the tree's
 * include/linux/mmu_notifier.h into a tiny C program that prints offsetof() of each field
 * (x86_64 host ABI = guest ABI), so a tree whose layout differs is traced correctly or refused.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RangeLayout {
  mm: number
  start: number
  end: number
  flags: number
  event: number
  owner: number
  /** enum mmu_notifier_event names in value order, without MMU_NOTIFY_. */
  events: string[]
}

/** Extracts the first `struct mmu_notifier_range { ... };` (the CONFIG_MMU_NOTIFIER one) and the event enum. */
export function extractRangeDecls(header: string): { struct: string; enumDecl: string } {
  const noComments = header.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
  const st = /struct mmu_notifier_range\s*\{[^}]*\};/.exec(noComments)
  const en = /enum mmu_notifier_event\s*\{[^}]*\};/.exec(noComments)
  if (!st || !en) throw new Error('include/linux/mmu_notifier.h: struct mmu_notifier_range or enum mmu_notifier_event not found')
  return { struct: st[0], enumDecl: en[0] }
}

/** Event names of the enum in value order (explicit values honoured). */
export function enumNames(enumDecl: string): string[] {
  const body = enumDecl.slice(enumDecl.indexOf('{') + 1, enumDecl.lastIndexOf('}'))
  const out: string[] = []
  let v = 0
  for (const item of body.split(',')) {
    const m = /^\s*MMU_NOTIFY_([A-Z0-9_]+)\s*(?:=\s*(\d+))?\s*$/.exec(item)
    if (!m) continue
    if (m[2] !== undefined) v = Number(m[2])
    out[v] = m[1] as string
    v++
  }
  return out
}

/** Compiles and runs an offsetof() program on the host C compiler. */
export function measureRangeLayout(header: string, cc = 'cc'): RangeLayout {
  const { struct, enumDecl } = extractRangeDecls(header)
  const fields = ['mm', 'start', 'end', 'flags', 'event', 'owner']
  for (const f of fields)
    if (!new RegExp(`\\b${f}\\s*;`).test(struct))
      throw new Error(`struct mmu_notifier_range has no field "${f}" in this tree: the kprobe fetch arguments need updating`)
  const src = `#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
typedef uint64_t u64; typedef uint32_t u32;
struct mm_struct; struct vm_area_struct;
${enumDecl}
${struct}
int main(void) {
  printf("%zu %zu %zu %zu %zu %zu %zu\\n", offsetof(struct mmu_notifier_range, mm), offsetof(struct mmu_notifier_range, start),
    offsetof(struct mmu_notifier_range, end), offsetof(struct mmu_notifier_range, flags), offsetof(struct mmu_notifier_range, event),
    offsetof(struct mmu_notifier_range, owner), sizeof(enum mmu_notifier_event));
  return 0;
}
`
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-offsets-'))
  try {
    writeFileSync(join(dir, 'o.c'), src)
    execFileSync(cc, ['-o', join(dir, 'o'), join(dir, 'o.c')], { stdio: 'pipe' })
    const outText = execFileSync(join(dir, 'o'), { encoding: 'utf8' })
    const n = outText.trim().split(/\s+/).map(Number)
    if (n[6] !== 4) throw new Error(`enum mmu_notifier_event is ${n[6]} bytes: the kprobe reads it as u32`)
    return {
      mm: n[0] as number,
      start: n[1] as number,
      end: n[2] as number,
      flags: n[3] as number,
      event: n[4] as number,
      owner: n[5] as number,
      events: enumNames(enumDecl),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function measureTreeLayout(tree: string, cc = 'cc'): RangeLayout {
  return measureRangeLayout(readFileSync(join(tree, 'include/linux/mmu_notifier.h'), 'utf8'), cc)
}

/**
 * kprobe_events lines (Documentation/trace/kprobetrace.rst), group "hmmlab":
 *  irs  __mmu_notifier_invalidate_range_start(range)        every range start on an mm with notifiers
 *  ii   dmirror_interval_invalidate(mni, range, cur_seq)    what test_hmm's interval subscription got
 *  rel  __mmu_notifier_release(mm)                          exit_mmap's RELEASE
 *  ins  mmu_interval_notifier_insert(sub, mm, start, length, ops)
 *  rm   mmu_interval_notifier_remove(sub)
 */
export function kprobeLines(l: RangeLayout): string[] {
  const r = (reg: string): string =>
    `mm=+${l.mm}(${reg}):x64 start=+${l.start}(${reg}):x64 end=+${l.end}(${reg}):x64 flags=+${l.flags}(${reg}):u32 event=+${l.event}(${reg}):u32 owner=+${l.owner}(${reg}):x64`
  return [
    `p:hmmlab/irs __mmu_notifier_invalidate_range_start ${r('%di')}`,
    `p:hmmlab/ii dmirror_interval_invalidate sub=%di:x64 ${r('%si')}`,
    `p:hmmlab/rel __mmu_notifier_release mm=%di:x64`,
    `p:hmmlab/ins mmu_interval_notifier_insert sub=%di:x64 mm=%si:x64 start=%dx:x64 len=%cx:x64`,
    `p:hmmlab/rm mmu_interval_notifier_remove sub=%di:x64`,
  ]
}
