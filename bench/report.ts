/**
 * Report benchmark: the size of report.html and the time until its charts are drawn in headless
 * Chromium, for a generated 30-minute game day with five probes against the flagship's real
 * 40-second run measured in the same process as the baseline. Figures, never assertions.
 *
 *     npm run bench:report            (tsx bench/report.ts [--runs 5] [--minutes 30])
 *
 * Per page and run: a fresh tab opens the file; "drawn" is the page's own clock (navigation start
 * → its script has drawn every chart), "painted" two animation frames later (the browser has put
 * them on screen); "load+draw" is seen from Node (page.goto until the charts are there). Generation is buildResult + htmlReport in this process. Medians of N runs.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readJournal } from '../src/journal/journal.ts'
import { buildResult } from '../src/reports/result.ts'
import { htmlReport } from '../src/reports/html.ts'
import { runCharts } from '../src/reports/series.ts'
import { fixturePath } from '../src/reports/fixtures.ts'
import { launchChromium, openReport } from '../test/browser/chromium.ts'
import { longRunJournal } from '../test/browser/long-run.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const RUNS = arg('--runs', 5)
const MINUTES = arg('--minutes', 30)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-report-'))
const chromium = await launchChromium()
try {
  const long = join(dir, 'long.jsonl')
  const generated = longRunJournal(long, { minutes: MINUTES })
  const cases = [
    { name: 'flagship nats-node-kill (40s run, 2 probes through the method) — baseline', journal: fixturePath('nats-node-kill.passed') },
    { name: `generated ${MINUTES}-minute run, 5 probes through the method`, journal: long },
  ]
  console.log(`report.html: size, generation, and time to drawn charts in ${await chromium.browser.version()}; median of ${RUNS}`)
  console.log(`generated journal: ${generated.events} events, ${(generated.bytes / 1e6).toFixed(2)} MB`)
  for (const c of cases) {
    const gen: number[] = []
    const drawn: number[] = []
    const painted: number[] = []
    const loadDraw: number[] = []
    let html = ''
    let charts = 0
    let points = 0
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now()
      const result = buildResult(readJournal(c.journal))
      html = htmlReport(result)
      gen.push(performance.now() - t0)
      const specs = runCharts(result)
      charts = specs.length + 1
      points = specs.reduce((n, s) => n + s.x.length * s.lines.length, 0)
    }
    const file = join(dir, `${charts}-charts.html`)
    writeFileSync(file, html)
    for (let i = 0; i < RUNS; i++) {
      const { page, errors, renderedMs } = await openReport(chromium.browser, file)
      if (errors.length) throw new Error(`${c.name}: ${errors.join('; ')}`)
      drawn.push(await page.evaluate(() => (globalThis as any).gameday.drawnMs as number))
      await page.waitForFunction('window.gameday.paintedMs !== undefined')
      painted.push(await page.evaluate(() => (globalThis as any).gameday.paintedMs as number))
      loadDraw.push(renderedMs)
      await page.close()
    }
    const bytes = statSync(file).size
    console.log(`\n${c.name}`)
    console.log(
      `  journal ${(statSync(c.journal).size / 1e6).toFixed(2)} MB → report.html ${(bytes / 1e6).toFixed(2)} MB (${charts} charts, ${points.toLocaleString('en')} plotted values; target < 2 MB)`,
    )
    console.log(
      `  generate ${median(gen).toFixed(0)} ms · charts drawn ${median(drawn).toFixed(0)} ms and painted ${median(painted).toFixed(0)} ms after navigation (target < 1 s) · load+draw seen from Node ${median(loadDraw).toFixed(0)} ms`,
    )
  }
} finally {
  await chromium.close()
  rmSync(dir, { recursive: true, force: true })
}
