/**
 * Units in the reports' words. Prose and tables of a report keep one decimal ("D1 kept 68.0 MiB …
 * for 10.0 s") so the figures of a sentence or a column line up; the implementation is the lab's
 * one (src/shared/units.ts).
 */
import * as units from '../../../shared/units'

const PROSE: units.Precision = { decimals: 1 }

/** `512 B`, `4.0 KiB`, `68.0 MiB`. */
export const formatBytes = (bytes: number): string => units.formatBytes(bytes, PROSE)

/** A simulated duration given in ns: `120 ns`, `850.0 µs`, `3.2 ms`, `10.0 s`. */
export const formatNs = (ns: number): string => units.formatNs(ns, PROSE)

/** Byte-seconds: `680.0 MiB·s`. */
export const formatByteSeconds = (bs: number): string => units.formatByteSeconds(bs, PROSE)

/** A metric value by its name's unit suffix (`_bytes`, `_ns`, `_byte_seconds`, `_count`). */
export const formatMetric = (name: string, value: number | null | undefined): string => units.formatMetric(name, value, PROSE)

/** A value in the unit the record gives with it. */
export const formatUnit = (unit: string, value: number | null | undefined): string => units.formatUnit(unit, value, PROSE)
