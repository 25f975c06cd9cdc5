import { readFile } from 'node:fs/promises'
import t from 'tap'
import { describeClose, terminalError } from '../../client/close-policy.js'
import { CloseAction, CloseCode, closePolicy, terminalCloseCodes } from '../../shared/codes.js'
import { AuthRefusedError } from '../../shared/auth-refusal.js'
import { RoomcastError } from '../../shared/errors.js'

const fromServer = (code: number, reason = '') => ({ code, reason, local: false })
const plain = { transformed: false, refusal: undefined, upgradeStatus: undefined }

t.test('the README close-code table is the shared close policy', async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Close codes and error codes'), readme.indexOf('## Limits, backpressure and shutdown'))
  const rows = new Map([...section.matchAll(/^\| (\d{4}) \| [^|]+ \| (.+) \|$/gm)].map(([, code, reconnects]) => [Number(code), reconnects!]))
  const column: Record<CloseAction, string> = {
    [CloseAction.Reconnect]: 'yes',
    [CloseAction.End]: 'no',
    [CloseAction.EndWhenServerCloses]: 'no',
    [CloseAction.EndWithoutTransform]: 'yes with `clientEncryption()`, no without',
  }
  const expected = new Map(Object.values(CloseCode).map((code) => [code as number, column[closePolicy[code].action]]))
  t.same(rows, expected)
})

t.test('terminalCloseCodes is derived from the table and unchanged', async (t) => {
  t.same([...terminalCloseCodes].sort(), [CloseCode.UnsupportedData, CloseCode.AuthRefused, CloseCode.Kicked, CloseCode.EncryptionViolation].sort())
})

t.test('the client applies the policy: reconnect, or the error it ends with', async (t) => {
  for (const code of [CloseCode.ServerShutdown, CloseCode.PolicyViolation, CloseCode.HeartbeatTimeout, CloseCode.Draining, 1005, 1006, 4100]) {
    t.equal(terminalError(fromServer(code), plain), undefined, `${code} reconnects`)
  }
  t.match(terminalError(fromServer(CloseCode.Normal, 'bye'), plain), { code: 'disconnected', message: 'the server closed the connection (code 1000: bye)' })
  t.equal(terminalError({ code: CloseCode.Normal, reason: 'the auth function failed', local: true }, plain), undefined, 'its own 1000 is retried')
  t.match(terminalError(fromServer(CloseCode.Kicked), plain), { code: 'disconnected', message: 'the server ended the connection for good (code 4004)' })
  t.match(terminalError(fromServer(CloseCode.UnsupportedData), plain), { code: 'disconnected' })
  t.match(terminalError(fromServer(CloseCode.EncryptionRequired), plain), { code: 'encryption_failed', message: /clientEncryption\(\)/ })
  t.equal(terminalError(fromServer(CloseCode.EncryptionRequired), { ...plain, transformed: true }), undefined, '4010 with a transform reconnects')
  t.match(terminalError({ code: CloseCode.EncryptionViolation, reason: 'bad frame', local: true }, plain), { code: 'encryption_failed' })
  const refusal = new RoomcastError('auth_refused', 'token expired')
  t.equal(terminalError(fromServer(CloseCode.AuthRefused, 'authentication refused'), { ...plain, refusal }), refusal, "4003 ends with the server's refusal")
  t.match(terminalError(fromServer(CloseCode.AuthRefused, 'nope'), plain), { code: 'auth_refused', message: 'nope' })
  t.match(terminalError(fromServer(CloseCode.AuthRefused), plain), { code: 'auth_refused', message: 'authentication refused' })
  t.equal(describeClose(4004, ''), 'code 4004')
})

t.test('refused upgrades: the status from the close reason or from the HTTP answer', async (t) => {
  const closed = terminalError(fromServer(CloseCode.AuthRefused, 'auth_refused:403 banned'), plain)
  t.ok(closed instanceof AuthRefusedError)
  t.match(closed, { code: 'auth_refused', status: 403, message: 'banned' })
  t.match(terminalError(fromServer(CloseCode.AuthRefused, 'auth_refused:401'), plain), { status: 401, message: 'authentication refused' })
  t.match(terminalError(fromServer(CloseCode.AuthRefused, 'auth_refused: not a status'), plain), { status: undefined, message: 'auth_refused: not a status' })
  t.match(terminalError(fromServer(1006), { ...plain, upgradeStatus: 401 }), { code: 'auth_refused', status: 401 })
  t.match(terminalError(fromServer(1006), { ...plain, upgradeStatus: 403 }), { code: 'auth_refused', status: 403 })
  for (const status of [404, 429, 500, 503]) t.equal(terminalError(fromServer(1006), { ...plain, upgradeStatus: status }), undefined, `${status} reconnects`)
})
