import t from 'tap'
import * as client from '../../client/index.js'
import * as shared from '../../shared/index.js'

// The encryption runs between each client and the server, so its names say so; the names it had
// before ("end-to-end") stay as deprecated aliases of the same values, and the wire is unchanged.

t.test('the old client names are the new ones', async (t) => {
  t.equal(client.endToEndEncryption, client.clientEncryption, 'endToEndEncryption is clientEncryption')
  const factory = client.clientEncryption()
  t.same(factory.query, { e2e: '1' }, 'the client still announces itself with e2e=1, as servers of every release expect')
  t.equal(typeof factory.handshake, 'function')
})

t.test('the old shared names are the new ones', async (t) => {
  t.equal(shared.E2EError, shared.EncryptionError, 'E2EError is EncryptionError')
  t.equal(shared.E2E_VERSION, shared.ENCRYPTION_VERSION)
  t.equal(shared.E2E_QUERY_PARAMETER, shared.ENCRYPTION_QUERY_PARAMETER)
  t.equal(shared.ENCRYPTION_VERSION, 1, 'handshake version 1')
  t.equal(shared.ENCRYPTION_QUERY_PARAMETER, 'e2e', 'the wire name of the query parameter')
  const error = new shared.EncryptionError('tampered', 'the encrypted frame failed authentication')
  t.ok(error instanceof shared.E2EError, 'caught by code that checks for E2EError')
  t.equal(error.name, 'EncryptionError')
  t.equal(error.reason, 'tampered')
})
