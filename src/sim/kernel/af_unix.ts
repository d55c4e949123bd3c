/**
 * File descriptors passed over a unix socket (net/unix/af_unix.c, net/core/scm.c): sendmsg with
 * SCM_RIGHTS takes a reference on each file (scm_fp_copy → fget_raw) that travels in the skb on the
 * peer's receive queue (unix_attach_fds); recvmsg installs it as a new fd of the receiver
 * (scm_detach_fds → receive_fd: get_file + fd_install, then __scm_destroy drops the skb's
 * reference); closing the socket purges the queue (unix_release_sock → skb_queue_purge →
 * unix_destruct_scm → fput). A file in flight is held by no task and no mm.
 *
 * Simplified: a socket is a named socketpair that every task can use, not a file; closing it closes
 * both ends. Since a socket is not a file it cannot itself be sent, so the cycles unix_gc collects
 * (a socket in flight in its own queue) cannot arise.
 */
import type { CallPath } from '../ledger/ledger'
import type { Kernel } from './context'
import { EAGAIN, EBADF, EINVAL } from './errno'
import { fdKey, fput, fputTmpfile, getFile } from './files'
import { File, TmpFile, type Task } from './objects'

/** One socketpair: the files in flight on its receive queue, oldest first. */
interface UnixSocket {
  readonly name: string
  readonly queue: Array<File | TmpFile>
  closed: boolean
}

const sockets = new WeakMap<Kernel, Map<string, UnixSocket>>()

function table(w: Kernel): Map<string, UnixSocket> {
  let t = sockets.get(w)
  if (!t) {
    t = new Map()
    sockets.set(w, t)
  }
  return t
}

/** sendmsg(SCM_RIGHTS) of `fd`: 0, -EBADF (no such fd, or the socket was closed). */
export function unixSendFd(w: Kernel, t: Task, fd: string, name: string, path: CallPath): number {
  const f = t.fds.get(fd) ?? t.tmpfiles.get(fd)
  if (!f) return EBADF
  let s = table(w).get(name)
  if (!s) {
    s = { name, queue: [], closed: false }
    table(w).set(name, s)
  }
  if (s.closed) return EBADF
  const p = [...path, 'unix_stream_sendmsg', 'scm_send', 'scm_fp_copy', 'fget_raw']
  if (f instanceof File) getFile(w, f, p)
  else {
    w.ledger.access(f.ledgerId, [...p, 'get_file'], 'get_file')
    w.ledger.getRef(f.ledgerId, f, 'f_count', 'get_file')
  }
  s.queue.push(f)
  w.count('scm_rights.sent')
  w.mark('sendmsg', `${t.name} sends ${fd} (${f.label}) over ${name}`)
  return 0
}

/**
 * recvmsg of the oldest file in flight, installed as `newfd`: 0, -EAGAIN (nothing in flight: the
 * MSG_DONTWAIT answer), -EBADF (no such socket), -EINVAL (`newfd` already names a file). The skb's
 * reference becomes the fd's.
 */
export function unixRecvFd(w: Kernel, t: Task, name: string, newfd: string, cloexec: boolean): number {
  const s = table(w).get(name)
  if (!s || s.closed) return EBADF
  if (t.fds.has(newfd) || t.tmpfiles.has(newfd)) return EINVAL
  const f = s.queue.shift()
  if (!f) return EAGAIN
  if (f instanceof File) {
    t.fds.set(newfd, f)
    w.ledger.hold(fdKey(t, newfd), f.ledgerId, null, `${t.name}'s fd ${newfd}`)
    // the file is now held for the receiver once its opener is gone
    if (f.opener.state === 'dead') w.ledger.reown(f.ledgerId, t.owner)
  } else t.tmpfiles.set(newfd, f)
  if (cloexec) t.cloexec.add(newfd)
  w.count('scm_rights.received')
  w.mark('recvmsg', `${t.name} receives ${f.label} over ${name} as ${newfd}`)
  return 0
}

/** close of the socketpair by `t`: every file still in flight is fput (task_work of `t`). */
export function unixRelease(w: Kernel, t: Task, name: string, path: CallPath): number {
  const s = table(w).get(name)
  if (!s || s.closed) return EBADF
  s.closed = true
  const p = [...path, 'unix_release', 'unix_release_sock', 'skb_queue_purge', 'unix_destruct_scm', 'scm_destroy']
  for (const f of s.queue.splice(0)) {
    if (f instanceof File) fput(w, f, t, p)
    else fputTmpfile(w, f, p)
  }
  return 0
}
