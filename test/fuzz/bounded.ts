/**
 * Runs a synchronous call under a time budget, so that a call that never returns (a loop that
 * cannot end for some input) fails its property with the input instead of hanging the test run:
 * vitest's test timeout cannot interrupt synchronous code, but V8 can terminate a script that a
 * vm context runs, and the functions it calls with it (node:vm `timeout`).
 *
 * The budget only turns a hang into a failure; it is no speed check. It is generous (20 s per
 * call, where every call here returns in well under a millisecond) so that a slow, busy machine
 * never fails a correct call.
 */
import vm from 'node:vm'

export const HANG_BUDGET_MS = 20_000

const context = vm.createContext({})
const script = new vm.Script('__call()')

/** Returns what `fn` returns; throws "… did not return" when it runs past the budget. */
export function bounded<T>(what: string, fn: () => T, budgetMs = HANG_BUDGET_MS): T {
  context.__call = fn
  try {
    return script.runInContext(context, { timeout: budgetMs }) as T
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      throw new Error(`${what} did not return within ${budgetMs / 1000} s: it hangs`, { cause: err })
    throw err
  } finally {
    context.__call = undefined
  }
}
