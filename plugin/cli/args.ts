/**
 * The command line: `roomcast start [flags]`, `roomcast --help`, `roomcast --version`.
 * Parsed strictly, so a misspelt flag is an error (exit 2) rather than a setting silently lost.
 */
import { parseArgs } from 'node:util'
import { UsageError } from './errors.js'
import type { ConfigPath } from './layers.js'
import { parseValue, type ValueKind } from './values.js'

export const HELP = `Usage: roomcast <command> [flags]

Commands:
  start              Run the Pusher-compatible server (and, with native.authEndpoint, the native protocol)

Flags of start (each overrides the config file and the environment):
  -c, --config FILE  JSON config file (also ROOMCAST_CONFIG)
  -p, --port N       Port of WebSockets and the HTTP API (default 6001)
      --host HOST    Address to listen on (default 0.0.0.0)
      --log-level L  fatal, error, warn, info (default), debug, trace or silent
      --compat MODE  pusher (default) or soketi (soketi's limits and webhook shapes;
                     the default when SOKETI_* variables are set)
      --metrics      Serve Prometheus metrics
      --metrics-port N  Serve them on a port of their own (soketi: 9601)
      --redis-url URL   Scale out over Redis (redis://user:pass@host:6379/0)
      --grace-period MS Shutdown grace period (default 3000)

Other:
  -h, --help         Show this help
  -v, --version      Show the version

Configuration reference: the README's "Run it as a server" section.
`

/** Flag → key and kind (the flags that set a configuration key). */
const FLAG_KEYS: Readonly<Record<string, { path: ConfigPath; kind: ValueKind }>> = {
  port: { path: ['port'], kind: 'integer' },
  host: { path: ['host'], kind: 'string' },
  'log-level': { path: ['logLevel'], kind: 'string' },
  compat: { path: ['compat'], kind: 'string' },
  'metrics-port': { path: ['metrics', 'port'], kind: 'integer' },
  'redis-url': { path: ['redis', 'url'], kind: 'string' },
  'grace-period': { path: ['shutdownGracePeriod'], kind: 'number' },
}

export type Command =
  | { name: 'help' }
  | { name: 'version' }
  | { name: 'start'; config: string | undefined; flags: { path: ConfigPath; value: unknown; source: string }[] }

export function parseCommandLine(argv: readonly string[]): Command {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    // node:util's messages name the flag ("Unknown option '--prot'"); they only lack the way out.
    const message = (err as Error).message.split('. ')[0]!.replace(/\.$/, '')
    throw new UsageError(`${message}. Run \`roomcast --help\` for the flags.`)
  }
  const { values, positionals } = parsed
  if (values.help === true) return { name: 'help' }
  if (values.version === true) return { name: 'version' }
  const [command, ...rest] = positionals
  if (command === undefined) throw new UsageError('no command given. Run `roomcast start`, or `roomcast --help` for the flags.')
  if (command === 'help') return { name: 'help' }
  if (command !== 'start') throw new UsageError(`unknown command ${JSON.stringify(command)}. The command is \`roomcast start\`.`)
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}. Run \`roomcast --help\` for the flags.`)

  const flags: { path: ConfigPath; value: unknown; source: string }[] = []
  for (const [flag, binding] of Object.entries(FLAG_KEYS)) {
    const text = values[flag as keyof typeof values]
    if (typeof text === 'string') flags.push({ path: binding.path, value: parseValue(binding.kind, text, `--${flag}`), source: `--${flag}` })
  }
  if (values.metrics === true || values['metrics-port'] !== undefined) flags.push({ path: ['metrics', 'enabled'], value: true, source: '--metrics' })
  return { name: 'start', config: values.config, flags }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      compat: { type: 'string' },
      metrics: { type: 'boolean' },
      'metrics-port': { type: 'string' },
      'redis-url': { type: 'string' },
      'grace-period': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}
