/**
 * The two broken variants the 2014 thread warns about, built on the D2 shape (file-owned object
 * with a classic notifier):
 *
 * B1 — the driver frees its object (which embeds the notifier) inside ->release. The core is still
 * walking the subscription list and unhashes the subscription afterwards: a use-after-free; the
 * file's later release touches and frees the object again: use-after-free and double free.
 *
 * B2 — ->release unhashes without release and drops the notifier's mm_count
 * (mmu_notifier_unregister_no_release + mmdrop, the 2014 API) and queues a deferred job that later
 * reads the mm. If the job runs after exit_mmap finished and __mmdrop freed the mm_struct, it is a
 * use-after-free; whether it hits depends on the job's delay (seeded) versus the remaining teardown
 * time — run it over many seeds to see the fraction.
 */
import { sleep } from '../engine/engine'
import type { Device } from '../devices/device'
import type { File, Task } from '../kernel/objects'
import { SIZEOF } from '../kernel/objects'
import { mmdrop, mmgrab } from '../kernel/mm-ref'
import { mmuNotifierRegister, mmuNotifierUnregister, mmuNotifierUnregisterNoRelease } from '../kernel/notifier'
import { addMirror, allocDriverObj, embedSub, freeDriverObj, mirrorNotifierOps, zapMirrors, type DriverObj } from '../drivers/driver'
import { apiKey, designState, fileOrApi, mirrorTarget, type ObjFilePriv, type TeardownDesign, type Target } from './design'
import { EINVAL, EIO } from '../kernel/errno'

function makeVariant(id: 'B1' | 'B2', title: string, summary: string, opsName: string, grabOwn: boolean): TeardownDesign {
  const ops = mirrorNotifierOps(opsName, {
    *release(w, sub, mm, path) {
      const obj = sub.priv as DriverObj
      const zc = zapMirrors(obj)
      if (zc > 0) yield sleep(zc)
      obj.mmDead = true
      if (id === 'B1') {
        freeDriverObj(w, obj, [...path, 'b1_free_in_release'])
        return
      }
      // B2: the 2014 pattern without the mm_count discipline
      mmuNotifierUnregisterNoRelease(w, sub, mm, path)
      const delay = w.rng.int(0, 2 * w.costs.srcu_gp)
      w.count('b2.deferred_jobs')
      w.queueWork('b2_deferred_release', delay, function* () {
        const jp = ['process_one_work', 'b2_deferred_release']
        // the job reads mm state (e.g. mm->context / mmap lock) without holding mm_count
        w.ledger.access(mm.ledgerId, jp, 'deferred job reads mm_struct')
        obj.mmDead = true
      })
    },
  })
  return {
    id,
    title,
    summary,
    correct: false,
    open(_w, _task, file) {
      file.priv = { obj: null } satisfies ObjFilePriv
      return 0
    },
    *mirror(w, task, dev, file, path) {
      const mm = task.mm
      if (!mm) return EINVAL
      let obj = fileOrApi(w, task, dev, file)
      if (obj && obj.mm !== mm) return EIO
      if (!obj) {
        obj = allocDriverObj(w, `${id} context`, SIZEOF.kvm_like, mm, path)
        if (grabOwn) mmgrab(w, mm, path)
        const r = mmuNotifierRegister(w, embedSub(w, ops, obj), mm, path)
        if (r < 0) return r
        if (file) (file.priv as ObjFilePriv).obj = obj
        else designState(w).api.set(apiKey(mm, dev), obj)
      }
      addMirror(w, obj, dev, SIZEOF.hmm_mirror, path)
      return 0
    },
    resolve(w, task: Task, dev: Device, file: File | null): Target | number {
      const obj = fileOrApi(w, task, dev, file)
      if (!obj) return EINVAL
      w.ledger.access(obj.ledgerId, ['ioctl', `${id}_lookup`], 'ioctl reads file->private_data')
      if (obj.freed || obj.mm !== task.mm || obj.mmDead) return EIO
      return mirrorTarget(obj, dev)
    },
    *release(w, file, path) {
      const obj = (file.priv as ObjFilePriv).obj
      if (!obj) return
      if (id === 'B1') {
        // the driver does not know ->release already freed it
        if (obj.sub && obj.sub.hashed) yield* mmuNotifierUnregister(w, obj.sub, obj.mm, path)
        freeDriverObj(w, obj, path)
        if (grabOwn) mmdrop(w, obj.mm, path)
        return
      }
      if (obj.sub && obj.sub.hashed) yield* mmuNotifierUnregister(w, obj.sub, obj.mm, path)
      freeDriverObj(w, obj, path)
      if (grabOwn) mmdrop(w, obj.mm, path)
    },
  }
}

export const B1 = makeVariant(
  'B1',
  'BROKEN: free inside ->release',
  'D2 shape, but ->release frees the object embedding the notifier while the core still walks the list.',
  'b1_free_in_release',
  true,
)

export const B2 = makeVariant(
  'B2',
  'BROKEN: deferred job from ->release races with mm teardown',
  '->release drops the notifier mm_count and queues a job that later reads the mm; it races with __mmdrop.',
  'b2_deferred_job',
  false,
)
