import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import t from 'tap'

/** Debian's Chromium, which `.ci/run` installs when it is missing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Headless, and none of the background traffic a closed network would refuse. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/**
 * True when this file's browser tests can run. Without Chromium, outside CI, the file is
 * skipped with the reason (CI installs Chromium, so there a missing browser is a failure).
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM) || process.env.CI) return true
  t.plan(0, `Chromium is not installed at ${CHROMIUM} (apt-get install chromium); CI installs it and runs this test`)
  return false
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
}
