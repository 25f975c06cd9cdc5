// Every option the schemas accept is documented in the README's Options section: the plugin's
// own and the `pusher` option's in a row of their tables, nested ones at least by name.
import { readFileSync } from 'node:fs'
import { Kind, type TSchema } from '@sinclair/typebox'
import t from 'tap'
import { isRefused } from '../../plugin/hub/option-schema.js'
import { RoomcastOptionsSchema } from '../../plugin/options-schema.js'
import { PusherAppSchema, PusherOptionsSchema } from '../../plugin/pusher/options-schema.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const section = readme.slice(readme.indexOf('\n### Options\n'), readme.indexOf('\n## Client\n'))
const rows = section.split('\n').filter((line) => line.startsWith('| '))
/** Every name written in code in the section: `{ interval, timeout }` gives interval and timeout. */
const namesInCode = new Set([...section.matchAll(/`([^`]+)`/g)].flatMap(([, code]) => code!.match(/[A-Za-z_$][\w$]*/g) ?? []))

/** The option names of an object schema, refused ones left out. */
function keysOf(schema: TSchema): string[] {
  return Object.entries(schema.properties as Record<string, TSchema>)
    .filter(([, property]) => !isRefused(property))
    .map(([key]) => key)
}

/** Every option name below a schema, at any depth (objects, lists of objects, unions with an object). */
function nestedKeys(schema: TSchema): string[] {
  if (schema[Kind] === 'Object') return keysOf(schema).flatMap((key) => [key, ...nestedKeys(schema.properties[key])])
  if (schema[Kind] === 'Array') return nestedKeys(schema.items)
  if (schema[Kind] === 'Union') return (schema.anyOf as TSchema[]).flatMap(nestedKeys)
  return []
}

t.test('the section was found', async (t) => {
  t.ok(section.length > 1000)
  t.ok(rows.length > 30)
})

t.test('each option of the plugin has its row in the Options table', async (t) => {
  for (const key of keysOf(RoomcastOptionsSchema)) {
    t.ok(
      rows.some((row) => row.startsWith(`| \`${key}\``) || row.startsWith(`| \`${key}(`)),
      key,
    )
  }
})

t.test('each key of the pusher option has its row, and each app setting is in the app rows', async (t) => {
  for (const key of keysOf(PusherOptionsSchema))
    t.ok(
      rows.some((row) => row.startsWith(`| \`pusher.${key}\``)),
      `pusher.${key}`,
    )
  const appRows = rows.filter((row) => row.startsWith('| app: ')).map((row) => row.split(' | ')[0]!)
  for (const key of keysOf(PusherAppSchema))
    t.ok(
      appRows.some((row) => row.includes(`\`${key}\``)),
      `app ${key}`,
    )
})

t.test('every nested option is named in the section', async (t) => {
  const missing = [...new Set(nestedKeys(RoomcastOptionsSchema))].filter((key) => !namesInCode.has(key))
  t.same(missing, [])
})
