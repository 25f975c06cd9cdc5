#!/usr/bin/env node
/**
 * `roomcast`: the standalone server's command (`npx roomcast start`). Exit status: 0 after a
 * graceful stop, 2 for a bad command line or configuration, 1 for anything else (a port in use,
 * a forced stop).
 */
import { readFileSync } from 'node:fs'
import { HELP, parseCommandLine } from './args.js'
import { loadConfig } from './config.js'
import { CONFIG_ENV } from './env.js'
import { USAGE_EXIT_CODE } from './errors.js'
import { planServer } from './plan.js'
import { handleSignals } from './signals.js'
import { startStandalone } from './standalone.js'

// The plugin's own missing-peer error (prom-client for metrics on the main port) is a configuration problem too.
const USAGE_CODES = new Set(['ROOMCAST_CLI_USAGE', 'ROOMCAST_CLI_CONFIG', 'ROOMCAST_CLI_MISSING_PEER', 'ROOMCAST_PROM_CLIENT_MISSING'])

/** The package's version: its package.json is three folders up from dist/plugin/cli/. */
function version(): string {
  for (const relative of ['../../../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (manifest.name === 'roomcast' && manifest.version !== undefined) return manifest.version
    } catch {
      // Not this one: the source tree is one level shallower than dist/.
    }
  }
  return 'unknown'
}

async function main(argv: readonly string[]): Promise<void> {
  const command = parseCommandLine(argv)
  if (command.name === 'help') {
    process.stdout.write(HELP)
    return
  }
  if (command.name === 'version') {
    process.stdout.write(`${version()}\n`)
    return
  }
  const { config, warnings } = loadConfig({ file: command.config ?? process.env[CONFIG_ENV], env: process.env, flags: command.flags })
  const plan = planServer(config)
  const server = await startStandalone(plan, warnings)
  const webhooks = plan.pusher.webhooks
  handleSignals(server, plan.shutdownGracePeriod, webhooks === false ? 0 : (webhooks?.closeTimeoutMs ?? 0))
  server.app.log.info(
    {
      url: server.url,
      metricsUrl: server.metricsUrl,
      compat: plan.compat,
      apps: plan.apps.map((app) => app.id),
      redis: plan.redis !== undefined,
      native: plan.native?.path,
      version: version(),
    },
    'roomcast: listening',
  )
}

/**
 * A configuration the plugin refused at registration (two apps with one key, a webhook it cannot
 * use): its checks throw TypeErrors that start with "roomcast:", or carry a ROOMCAST_ code.
 */
function isConfigurationError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && USAGE_CODES.has(code)) return true
  return err instanceof TypeError && err.message.startsWith('roomcast: ')
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const usage = isConfigurationError(err)
  const message = usage ? (err as Error).message.replace(/^roomcast: /, '') : ((err as Error).stack ?? String(err))
  process.stderr.write(`roomcast: ${message}\n`)
  process.exitCode = usage ? USAGE_EXIT_CODE : 1
})
