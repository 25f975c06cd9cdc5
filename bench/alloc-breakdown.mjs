// What a server allocated, from the .heapprofile that `bench/run.mjs --profile-allocations`
// writes for the measured window of a case: bytes allocated by function (collected objects included),
// in total and per unit of work when `--per` gives the count (connections, deliveries).
//
//   node bench/alloc-breakdown.mjs bench/profiles/roomcast-n3000-allocations-....heapprofile [--top 30] [--per 3000]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, per: { type: 'string' } } })
if (positionals.length !== 1) {
  console.error('usage: node bench/alloc-breakdown.mjs <file.heapprofile> [--top 30] [--per COUNT]')
  process.exit(2)
}
const { head } = JSON.parse(readFileSync(positionals[0], 'utf8'))
const bytesBy = new Map()
let total = 0
const pending = [head]
while (pending.length > 0) {
  const node = pending.pop()
  const { functionName, url, lineNumber } = node.callFrame
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(dist|node_modules)\//, '')}${url === '' ? '' : `:${lineNumber + 1}`}`
  bytesBy.set(key, (bytesBy.get(key) ?? 0) + node.selfSize)
  total += node.selfSize
  pending.push(...node.children)
}
const per = args.per === undefined ? undefined : Number(args.per)
const show = (bytes) =>
  `${(bytes / 1e6).toFixed(2).padStart(8)} MB${
    per === undefined
      ? ''
      : `${Math.round(bytes / per)
          .toLocaleString('en-US')
          .padStart(8)} B each`
  }`
console.log(`${show(total)}  allocated in all (sampled)`)
for (const [key, bytes] of [...bytesBy].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(`${show(bytes)}  ${key}`)
