/**
 * Headless Chromium for tests, through playwright-core: Debian's /usr/bin/chromium when installed, else the
 * binary inside the npm package @sparticuz/chromium (unpacked on first use). Never downloads a browser; with
 * neither, it throws, so that a browser test fails rather than skips.
 */
import { existsSync } from "node:fs"
import { type Browser, chromium } from "playwright-core"

const flags = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

export const launchBrowser = async (): Promise<Browser> => {
  if (existsSync("/usr/bin/chromium")) return chromium.launch({ executablePath: "/usr/bin/chromium", args: flags })
  const packaged = (await import("@sparticuz/chromium")).default
  return chromium.launch({ executablePath: await packaged.executablePath(), args: [...packaged.args, ...flags], headless: true })
}
