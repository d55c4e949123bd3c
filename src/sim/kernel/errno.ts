/**
 * Error numbers (include/uapi/asm-generic/errno-base.h, errno.h), negated as kernel functions
 * return them (`return -EINVAL;`). Every errno the model returns comes from here; the numbers are
 * the scenario language's table (ERRNO_VALUES in src/shared/scenario.ts, which also reads
 * `-EINVAL` in an expect), so the model and the scenarios cannot disagree on one.
 */
import { ERRNO_VALUES } from '../../shared/scenario'

export const EPERM = -ERRNO_VALUES.EPERM
export const ENOENT = -ERRNO_VALUES.ENOENT
export const ESRCH = -ERRNO_VALUES.ESRCH
export const EINTR = -ERRNO_VALUES.EINTR
export const EIO = -ERRNO_VALUES.EIO
export const EBADF = -ERRNO_VALUES.EBADF
export const EAGAIN = -ERRNO_VALUES.EAGAIN
export const ENOMEM = -ERRNO_VALUES.ENOMEM
export const EFAULT = -ERRNO_VALUES.EFAULT
export const EBUSY = -ERRNO_VALUES.EBUSY
export const EEXIST = -ERRNO_VALUES.EEXIST
export const ENODEV = -ERRNO_VALUES.ENODEV
export const EINVAL = -ERRNO_VALUES.EINVAL
