/** Types of launcher-watch.mjs (plain JavaScript: `npm start` runs it before any build). */
export declare const LAUNCHER_CHECK_MS: number
export declare function stopWithLauncher(opts?: { env?: Record<string, string | undefined>; onGone?: () => void; intervalMs?: number }): number[]
