export { E2E_QUERY_PARAMETER, E2E_VERSION, KeyExchange } from './handshake.js'
export { KeyExchangeHello, KeyExchangeReply } from './schemas.js'
export { SecureChannel, E2EError, type E2EFailure } from './secure-channel.js'
