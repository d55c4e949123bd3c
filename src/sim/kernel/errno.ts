/**
 * Error numbers (include/uapi/asm-generic/errno-base.h, errno.h), negated as kernel functions
 * return them (`return -EINVAL;`). Every errno the model returns comes from here.
 */
export const EPERM = -1
export const ENOENT = -2
export const ESRCH = -3
export const EINTR = -4
export const EIO = -5
export const EBADF = -9
export const EAGAIN = -11
export const ENOMEM = -12
export const EFAULT = -14
export const EBUSY = -16
export const ENODEV = -19
export const EINVAL = -22
