/**
 * TAP from the kselftest harness (tools/testing/selftests/kselftest_harness.h), as hmm-tests
 * prints it: "ok 3 hmm.hmm_device_private.anon_read", "not ok 5 ...", "ok 7 ... # SKIP why".
 * Case names are FIXTURE.VARIANT.TEST (FIXTURE.TEST without variants).
 */
import type { HmmTestCase } from './index'

export function parseHmmTestsTap(tap: string): HmmTestCase[] {
  const out: HmmTestCase[] = []
  const lines = tap.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^(not )?ok (\d+) (\S+)(?:\s+#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?\s*$/.exec(lines[i] as string)
    if (!m) continue
    const parts = (m[3] as string).split('.')
    const fixture = parts[0] as string
    const test = parts[parts.length - 1] as string
    const variant = parts.length >= 3 ? parts.slice(1, -1).join('.') : undefined
    const directive = m[4]
    const status: HmmTestCase['status'] = directive === 'SKIP' ? 'skip' : m[1] ? 'fail' : 'pass'
    const c: HmmTestCase = { fixture, test, status, number: Number(m[2]) }
    if (variant !== undefined) c.variant = variant
    if (directive && m[5]) c.message = (m[5] as string).trim()
    else if (status === 'fail') {
      // the harness prints the failing assertion as "# file:line:expected ..." lines before "not ok"
      const why: string[] = []
      for (let j = i - 1; j >= 0 && j >= i - 12; j--) {
        const l = lines[j] as string
        if (/^#\s+RUN\b/.test(l) || /^(not )?ok \d+/.test(l)) break
        if (/^#\s/.test(l) && !/^#\s+(FAIL|OK)\s/.test(l)) why.unshift(l.replace(/^#\s*/, ''))
      }
      if (why.length) c.message = why.join('; ')
    }
    out.push(c)
  }
  return out
}

/** The tests a hmm-tests.c defines, in file order: TEST_F(fixture, name) and TEST(name). */
export function listHmmTests(source: string): Array<{ fixture: string | null; test: string }> {
  const out: Array<{ fixture: string | null; test: string }> = []
  for (const m of source.matchAll(/^\s*TEST(_F)?\s*\(\s*([A-Za-z0-9_]+)\s*(?:,\s*([A-Za-z0-9_]+)\s*)?\)/gm)) {
    if (m[1]) out.push({ fixture: m[2] as string, test: m[3] as string })
    else out.push({ fixture: null, test: m[2] as string })
  }
  return out
}
