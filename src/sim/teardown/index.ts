/** The teardown designs, by id. */
import { D1 } from './d1'
import { D2 } from './d2'
import { D3 } from './d3'
import { D4 } from './d4'
import { D5 } from './d5'
import { D6 } from './d6'
import { B1, B2 } from './broken'
import type { DesignId, TeardownDesign } from './design'

export const DESIGN_TABLE: Record<DesignId, TeardownDesign> = { D1, D2, D3, D4, D5, D6, B1, B2 }
export { DESIGN_IDS, type DesignId, type TeardownDesign } from './design'
