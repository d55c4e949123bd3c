import { describe, expect, it } from 'vitest'
import { chartCsv, chartFileName, columnName, csvField } from '../../src/renderer/lib/chart-export'

describe('chart export', () => {
  it('writes point data as long rows under the axis titles', () => {
    const csv = chartCsv(
      {
        datasets: [
          {
            label: 'pages',
            data: [
              { x: 0, y: 0 },
              { x: 1.5, y: 4096 },
            ],
          },
          { label: 'vma', data: [{ x: 2, y: 176 }] },
        ],
      },
      { x: 'simulated time (µs)', y: 'memory live (KiB)' },
    )
    expect(csv).toBe('series,simulated time (µs),memory live (KiB)\r\npages,0,0\r\npages,1.5,4096\r\nvma,2,176\r\n')
  })

  it("writes a stacked chart as each band's own value and its top, in the units of the data", () => {
    const csv = chartCsv(
      {
        datasets: [
          { label: 'mm_struct', hmmStack: true, data: [{ x: 0, y: 1344, v: 1344 }] },
          { label: 'pages', hmmStack: true, data: [{ x: 2500, y: 1344 + 4096, v: 4096 }] },
        ],
      },
      { x: 'simulated time (µs)', y: 'memory live (KiB)', xUnit: 'ns', yUnit: 'bytes' },
    )
    expect(csv).toBe('series,simulated time (ns),memory live (bytes),stacked top (bytes)\r\nmm_struct,0,1344,1344\r\npages,2500,4096,5440\r\n')
  })

  it('names columns in the unit of the values, not of the tick labels', () => {
    expect(columnName('memory live (bytes, log scale)', 'bytes', 'y')).toBe('memory live (bytes)')
    expect(columnName('cost per invalidation', 'ns', 'y')).toBe('cost per invalidation (ns)')
    expect(columnName(undefined, undefined, 'x')).toBe('x')
    expect(columnName('design', undefined, 'x')).toBe('design')
  })

  it('writes category data as one column per series', () => {
    const csv = chartCsv({ labels: ['D1', 'D4'], datasets: [{ label: 'leak, bytes', data: [10, 0] }, { data: [1] }] }, { x: 'design' })
    expect(csv).toBe('design,"leak, bytes",y 2\r\nD1,10,1\r\nD4,0,\r\n')
  })

  it('quotes what must be quoted and leaves non-finite numbers empty', () => {
    expect(csvField('a "b"')).toBe('"a ""b"""')
    expect(csvField('x\ny')).toBe('"x\ny"')
    expect(csvField(Number.NaN)).toBe('')
    expect(csvField(null)).toBe('')
  })

  it('makes a safe file name from any label', () => {
    expect(chartFileName('memory live by type / D1', 'png')).toBe('memory-live-by-type-D1.png')
    expect(chartFileName('../../etc', 'csv')).toBe('etc.csv')
    expect(chartFileName('§§§', 'csv')).toBe('chart.csv')
  })
})
