/**
 * The report pages in a real browser: each opens offline without an error, draws its charts
 * (a canvas per chart), puts the fault window and the events at the second the journal recorded,
 * shows values on hover, keeps the charts on one zoom; screenshots go to test/browser/artifacts/.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { htmlReport } from '../../src/reports/html.ts'
import { runCharts } from '../../src/reports/series.ts'
import { runEvents } from '../../src/reports/events.ts'
import { fixture, fixturePath, type FixtureName } from '../../src/reports/fixtures.ts'
import { compareCommand, indexCommand } from '../../src/reports/commands.ts'
import { launchChromium, openReport, screenshot, type Chromium } from './chromium.ts'
import { longRunJournal } from './long-run.ts'
import { readJournal } from '../../src/journal/journal.ts'
import { buildResult } from '../../src/reports/result.ts'

let chromium: Chromium
let dir: string

beforeAll(async () => {
  chromium = await launchChromium()
  dir = mkdtempSync(join(tmpdir(), 'gameday-browser-'))
})

afterAll(async () => {
  await chromium?.close()
  rmSync(dir, { recursive: true, force: true })
})

function writeReport(name: FixtureName): string {
  const file = join(dir, `${name}.html`)
  writeFileSync(file, htmlReport(fixture(name)))
  return file
}

interface Rgba {
  r: number
  g: number
  b: number
}

/** The colour drawn on chart `i` at (value on x, value on y), read from its canvas. */
async function pixel(page: Page, i: number, x: number, y: number): Promise<Rgba> {
  return page.evaluate(
    (i, x, y) => {
      const u = (globalThis as any).gameday.charts[i]
      const [r, g, b] = u.ctx.getImageData(Math.round(u.valToPos(x, 'x', true)), Math.round(u.valToPos(y, 'y', true)), 1, 1).data
      return { r, g, b }
    },
    i,
    x,
    y,
  )
}

/** How red (the fault window's tint) the plot of chart `i` is at value x: the most over a column of its plot, which grid lines, series and the amber tolerance line cross. */
async function redness(page: Page, i: number, x: number): Promise<number> {
  return page.evaluate(
    (i, x) => {
      const u = (globalThis as any).gameday.charts[i]
      const px = Math.round(u.valToPos(x, 'x', true))
      let most = -255
      for (let y = u.bbox.top + 4; y < u.bbox.top + u.bbox.height - 4; y += 3) {
        const [r, g, b] = u.ctx.getImageData(px, y, 1, 1).data
        if (Math.abs(b - g) < 20) most = Math.max(most, r - g)
      }
      return most
    },
    i,
    x,
  )
}

/** Where value x of chart i is in the viewport (CSS pixels), at some height inside its plot; scrolls the chart into view. */
async function pointOf(page: Page, i: number, x: number, dy = 20): Promise<{ x: number; y: number }> {
  return page.evaluate(
    (i, x, dy) => {
      const u = (globalThis as any).gameday.charts[i]
      u.root.scrollIntoView({ block: 'center' })
      const over = u.over.getBoundingClientRect()
      return { x: over.left + u.valToPos(x, 'x'), y: over.top + dy }
    },
    i,
    x,
    dy,
  )
}

const xScales = (page: Page) => page.evaluate(() => (globalThis as any).gameday.charts.map((u: any) => [u.scales.x.min, u.scales.x.max]) as [number, number][])

describe('report.html in Chromium', () => {
  it('draws the flagship: every chart, the fault window and the meta-leader change at their second, values on hover', async () => {
    const r = fixture('nats-node-kill.passed')
    const { page, errors, renderedMs } = await openReport(chromium.browser, writeReport('nats-node-kill.passed'))
    expect(errors).toEqual([])
    const events = runEvents(r)
    const charts = runCharts(r)
    expect(await page.$$eval('canvas', (c) => c.length)).toBe(1 + charts.length)
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.getAttribute('data-charts'))).toBe(String(1 + charts.length))

    // chart 0 is the lanes: the fault window in the faults row, the leader change in the leader row
    const lanes = events.lanes.map((l) => l.title)
    const row = (title: string) => lanes.length - lanes.indexOf(title) - 0.5
    const kill = events.windows[0]
    const red = await pixel(page, 0, (kill.from + kill.to) / 2, row('faults'))
    expect(red.r - red.g).toBeGreaterThan(30)
    const change = events.lanes.find((l) => l.title === 'meta leader')!.marks[0]
    const mark = await pixel(page, 0, change.t, row('meta leader'))
    expect(mark).toMatchObject({ r: expect.toSatisfy((v: number) => v > 150), b: expect.toSatisfy((v: number) => v < 80) })
    // the same window shaded on a series chart, and nothing shaded before it
    expect(await redness(page, 1, (kill.from + kill.to) / 2)).toBeGreaterThan(20)
    expect(await redness(page, 1, kill.from - 1.5)).toBeLessThan(10)

    await screenshot(page, 'report-nats-node-kill')
    // hover at the second of the leader change: legends show that second's values, the lanes say what was going on
    const at = await pointOf(page, 1, change.t)
    await page.mouse.move(at.x, at.y)
    const legend = await page.$$eval('.uplot', (plots) => plots.map((p) => [...p.querySelectorAll('.u-value')].map((v) => v.textContent)))
    expect(legend[1].every((v) => v && v !== '—')).toBe(true)
    expect(legend[1][0]).toMatch(/^2\d(\.\d)?s$/)
    const readout = await page.$eval('#lanes-readout', (e) => e.textContent)
    expect(readout).toContain('◆ meta leader n4 → n5')
    expect(readout).toContain('nats.kill-node → n4')
    const hovered = await page.$('#method')
    await hovered!.screenshot({ path: join(import.meta.dirname, 'artifacts', 'report-nats-node-kill-hover.png') })
    expect(renderedMs).toBeGreaterThan(0)
    await page.close()
  })

  it('copies the readout as Markdown, for the game-day write-up', async () => {
    const { page, errors } = await openReport(chromium.browser, writeReport('nats-node-kill.passed'))
    await page.click('button[data-copy]')
    // the clipboard answers asynchronously: the button says so once it has (and for 1.5 s)
    await page.waitForFunction("document.querySelector('button[data-copy]')?.textContent === 'Copied'", { timeout: 3_000, polling: 'mutation' })
    const md = await page.$eval('#readout-md', (t) => (t as any).value as string)
    expect(md).toMatch(/^\*\*nats-node-kill: PASSED\*\* — score 100\/100, confidence high \(100%\)/)
    expect(md).toContain('time to recover: 802ms after the revert (last back: cluster healthy)')
    expect(errors).toEqual([])
    await page.close()
  })

  it('keeps every chart on one zoom: a drag zooms them all, a double-click shows the whole run again', async () => {
    const { page, errors } = await openReport(chromium.browser, writeReport('nats-node-kill.passed'))
    const [whole] = await xScales(page)
    const from = await pointOf(page, 2, whole[0] + 4)
    const to = await pointOf(page, 2, whole[0] + 10)
    await page.mouse.move(from.x, from.y)
    await page.mouse.down()
    await page.mouse.move(to.x, to.y, { steps: 5 })
    await page.mouse.up()
    const zoomed = await xScales(page)
    for (const [min, max] of zoomed) {
      expect(min).toBeCloseTo(zoomed[0][0], 6)
      expect(max).toBeCloseTo(zoomed[0][1], 6)
    }
    expect(zoomed[0][0]).toBeGreaterThan(whole[0] + 3)
    expect(zoomed[0][1]).toBeLessThan(whole[0] + 11)
    await page.mouse.click(to.x, to.y, { count: 2 })
    for (const [min, max] of await xScales(page)) expect([min, max]).toEqual(whole)
    expect(errors).toEqual([])
    await page.close()
  })

  it('shows a deviated redis-throttle run’s breaker lanes, open in red', async () => {
    const events = runEvents(fixture('redis-throttle.deviated'))
    const { page, errors } = await openReport(chromium.browser, writeReport('redis-throttle.deviated'))
    expect(errors).toEqual([])
    const lanes = events.lanes.map((l) => l.title)
    expect(lanes).toEqual(['faults', 'breaker ai-integration-1', 'breaker ai-integration-2'])
    const open = events.lanes[1].spans.find((s) => s.label === 'open')!
    const px = await pixel(page, 0, (open.from + open.to) / 2, lanes.length - 1 - 0.5)
    expect(px).toMatchObject({ r: expect.toSatisfy((v: number) => v > 180), g: expect.toSatisfy((v: number) => v < 80) })
    expect(await page.$eval('#verdict .v', (e) => e.textContent)).toBe('DEVIATED')
    expect(await page.$$eval('#readout li', (li) => li.map((l) => l.textContent).join('\n'))).toContain('openP99 < 5ms — 497.1ms against < 5ms')
    await screenshot(page, 'report-redis-throttle-deviated')
    await page.close()
  })

  it('draws a deviated CAS run’s counterexample, opened at the operation that cannot be linearized', async () => {
    const { page, errors } = await openReport(chromium.browser, writeReport('kv-cas-under-kill.deviated'))
    expect(errors).toEqual([])
    expect(await page.$$eval('#correctness .cx-op', (ops) => ops.length)).toBeGreaterThan(5)
    const blocked = await page.$eval('#correctness .cx-blocked', (g) => ({
      title: g.querySelector('title')!.textContent,
      left: g.getBoundingClientRect().left,
      right: g.getBoundingClientRect().right,
    }))
    expect(blocked.title).toMatch(/cannot follow the prefix: the state was /)
    // scrolled so the blocked operation is in view
    const box = await page.$eval('#correctness .cx-scroll', (b) => ({
      left: b.getBoundingClientRect().left,
      right: b.getBoundingClientRect().right,
      scrolled: b.scrollLeft,
    }))
    expect(box.scrolled).toBeGreaterThan(0)
    expect(blocked.left).toBeGreaterThanOrEqual(box.left)
    expect(blocked.right).toBeLessThanOrEqual(box.right)
    const section = await page.$('#correctness')
    await section!.screenshot({ path: join(import.meta.dirname, 'artifacts', 'report-kv-cas-counterexample.png') })
    await screenshot(page, 'report-kv-cas-deviated')
    await page.close()
  })

  it('fails a page whose charts cannot be drawn: the error reaches the test', async () => {
    const html = htmlReport(fixture('nats-node-kill.passed')).replace('"charts":[', '"charts":[{"id":"c0-0","lines":null},')
    const file = join(dir, 'broken.html')
    writeFileSync(file, html)
    const opened = await openReport(chromium.browser, file).catch((err: Error) => ({ errors: [err.message], page: undefined }))
    expect(opened.errors.join('\n')).toMatch(/^page error: /)
    await opened.page?.close()
  })
})

describe('compare and index pages in Chromium', () => {
  function runsDir(names: FixtureName[]): string[] {
    return names.map((name) => {
      const run = join(dir, 'reports', name)
      mkdirSync(run, { recursive: true })
      cpSync(fixturePath(name), join(run, 'journal.jsonl'))
      writeFileSync(join(run, 'report.html'), htmlReport(fixture(name)))
      return run
    })
  }

  it('shows what changed between a passed and a deviated run, their series over each other', async () => {
    const [a, b] = runsDir(['redis-throttle.passed', 'redis-throttle.no-breaker'])
    const file = join(dir, 'compare.html')
    expect(compareCommand(a, b, { html: file, out: () => {} })).toBe(1)
    const { page, errors } = await openReport(chromium.browser, file)
    expect(errors).toEqual([])
    expect(Number(await page.evaluate(() => (globalThis as any).document.documentElement.getAttribute('data-charts')))).toBeGreaterThan(0)
    expect(await page.$eval('#changes', (e) => e.textContent)).toContain('new deviation')
    const at = await pointOf(page, 0, 2)
    await page.mouse.move(at.x, at.y)
    const values = await page.$$eval('.uplot:first-of-type .u-value', (v) => v.map((x) => x.textContent))
    // the run clock from the first fault, and both runs' values at that second
    expect(values[0]).toMatch(/^\+\d/)
    expect(values.slice(1).some((v) => v !== '—')).toBe(true)
    await screenshot(page, 'compare-redis-throttle')
    await page.close()
  })

  it('lists every run with links that lead to their reports, and each experiment’s trend', async () => {
    runsDir(['redis-throttle.passed', 'redis-throttle.no-breaker', 'redis-throttle.deviated', 'nats-node-kill.passed', 'kv-cas-under-kill.deviated'])
    const file = indexCommand(join(dir, 'reports'), { out: () => {} })
    const { page, errors } = await openReport(chromium.browser, file)
    expect(errors).toEqual([])
    expect(await page.$$eval('canvas', (c) => c.length)).toBe(1)
    const links = await page.$$eval('tr[data-run] a', (a) => a.map((x) => (x as any).href as string))
    expect(links).toHaveLength(5)
    for (const link of links) expect(readFileSync(new URL(link), 'utf8')).toContain('<!doctype html>')
    await screenshot(page, 'index')
    await page.close()
  })
})

describe('a long game day', () => {
  it('keeps the report of a 30-minute run with five probes under 2 MB, and draws it without an error', async () => {
    const journal = join(dir, 'long.jsonl')
    longRunJournal(journal, { minutes: 30 })
    const result = buildResult(readJournal(journal))
    expect(result.probes.filter((p) => p.phase === 'during')).toHaveLength(5)
    const file = join(dir, 'long.html')
    writeFileSync(file, htmlReport(result))
    expect(statSync(file).size).toBeLessThan(2_000_000)
    const { page, errors } = await openReport(chromium.browser, file)
    expect(errors).toEqual([])
    expect(await page.$$eval('canvas', (c) => c.length)).toBe(1 + runCharts(result).length)
    await screenshot(page, 'report-30-minutes', false)
    await page.close()
  })
})
