/**
 * Headless Chromium for the browser tests and the report benchmark: Debian's `chromium` (installed
 * by scripts/setup.sh) driven by puppeteer-core. This machine's network is closed, so everything
 * Chromium would fetch by itself is off, and each launch gets a fresh profile, removed at close.
 * A page may load nothing but itself: any request it makes is recorded as an error.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** where screenshots go (git ignores the folder's content) */
export const ARTIFACTS = join(import.meta.dirname, 'artifacts')

export function chromiumPath(): string {
  const candidates = [process.env.GAMEDAY_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw new Error(`no Chromium found (looked at ${candidates.join(', ')}): run scripts/setup.sh, or set GAMEDAY_CHROMIUM to a Chromium binary`)
  return found
}

export interface Chromium {
  browser: Browser
  close(): Promise<void>
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'gameday-chromium-'))
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir: profile,
    args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
  })
  return {
    browser,
    async close() {
      await browser.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

export interface OpenedPage {
  page: Page
  /** console errors, uncaught exceptions, and any request the page made for something outside itself */
  errors: string[]
  /** ms from navigation start until the charts were drawn */
  renderedMs: number
}

/** Opens a report file and waits until its script has drawn the charts (or it has none). */
export async function openReport(browser: Browser, file: string, viewport = { width: 1280, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  let failed: (err: Error) => void = () => {}
  const pageFailed = new Promise<never>((_, reject) => (failed = reject))
  pageFailed.catch(() => {})
  page.on('pageerror', (e) => {
    errors.push(`page error: ${(e as Error).message}`)
    failed(new Error(`page error: ${(e as Error).message}`))
  })
  await page.setRequestInterception(true)
  page.on('request', (req) => {
    const url = req.url()
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('about:')) return void req.continue()
    errors.push(`request outside the file: ${url}`)
    void req.abort()
  })
  await page.setViewport(viewport)
  const started = performance.now()
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
  // the page's script marks <html data-charts="N"> once it has drawn (a page without data has nothing to draw)
  // an uncaught error in the page ends the wait at once
  await Promise.race([
    page.waitForFunction(`document.documentElement.hasAttribute('data-charts') || !document.getElementById('gameday-data')`, { timeout: 10_000 }),
    pageFailed,
  ])
  return { page, errors, renderedMs: performance.now() - started }
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const file = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage })
  return file
}
