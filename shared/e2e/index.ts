export { E2E_QUERY_PARAMETER, E2E_VERSION, KeyExchange, KeyExchangeHello, KeyExchangeReply } from './handshake.js'
export { SecureChannel, E2EError, type E2EFailure } from './secure-channel.js'
