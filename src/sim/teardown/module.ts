/**
 * Unloading the driver module (delete_module): refused while a file of the driver is open (each
 * open file holds a module reference through f_op->owner, try_stop_module → -EBUSY); otherwise the
 * module's __exit runs — the design's own clean-up, then mmu_notifier_synchronize unless the
 * driver forgets it — and the module text is freed (free_module). A free_notifier still queued by
 * mmu_notifier_put then calls into freed text: kernel/notifier.ts reports it as a use-after-free.
 */
import type { Proc } from '../engine/engine'
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from '../kernel/context'
import { EBUSY, ENOENT } from '../kernel/errno'
import { mmuNotifierSynchronize, moduleTextFreed, moduleUnloaded } from '../kernel/notifier'
import type { TeardownDesign } from './design'

export function* moduleUnload(w: Kernel, design: TeardownDesign, synchronize: boolean, path: CallPath): Proc<number> {
  const p = [...path, 'delete_module']
  if (moduleUnloaded(w)) return ENOENT
  for (const t of w.tasks.values()) {
    for (const f of t.fds.values()) if (!f.released) return EBUSY
  }
  const ep = [...p, 'do_exit_module']
  if (design.moduleExit) yield* design.moduleExit(w, synchronize, ep)
  else if (synchronize) yield* mmuNotifierSynchronize(w)
  // free_module: the text is gone
  const text = w.ledger.alloc('driver_object', 0, 0, `module text of the ${design.id} driver`, ['load_module'])
  w.ledger.free(text, [...p, 'free_module'])
  moduleTextFreed(w, text)
  w.log('module', 'free_module', design.id)
  return 0
}
