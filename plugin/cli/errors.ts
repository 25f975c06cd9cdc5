/**
 * What the `roomcast` command reports before anything starts: a bad command line or a bad
 * configuration. Both exit with status 2 and a message that names the flag, key or variable.
 */
import createError from '@fastify/error'

/** An unknown flag, a missing value, an unknown subcommand. */
export const UsageError = createError('ROOMCAST_CLI_USAGE', '%s')

/** A config file, environment variable or flag whose value cannot work. */
export const ConfigError = createError('ROOMCAST_CLI_CONFIG', '%s')

/** An optional peer dependency the configuration needs is not installed. */
export const MissingPeerError = createError('ROOMCAST_CLI_MISSING_PEER', '%s')

/** Exit status for usage and configuration errors (as most Unix commands do). */
export const USAGE_EXIT_CODE = 2
