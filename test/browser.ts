/**
 * Headless Chromium for tests, without downloading a browser: Debian's /usr/bin/chromium when it is
 * installed, else the Chromium binary that ships inside the npm package @sparticuz/chromium (unpacked on first
 * use). Driven by playwright-core, which never downloads one either.
 */
import { existsSync } from "node:fs"
import { type Browser, chromium } from "playwright-core"

const systemChromium = "/usr/bin/chromium"

const systemArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Where the browser comes from, for test names and messages. */
export const browserSource = (): string => (existsSync(systemChromium) ? systemChromium : "@sparticuz/chromium")

export const launchBrowser = async (): Promise<Browser> => {
  if (existsSync(systemChromium)) return chromium.launch({ executablePath: systemChromium, args: systemArgs })
  const { default: packaged } = await import("@sparticuz/chromium")
  return chromium.launch({ executablePath: await packaged.executablePath(), args: packaged.args })
}
