// The baseline: the least a hand-written `ws` server needs to do the same job (see baseline.mjs).
//
//   node --expose-gc bench/servers/ws.mjs --port 0
import { WebSocketServer } from 'ws'
import { serveBaseline } from './baseline.mjs'
import { portArgument, serveControl } from './control.mjs'

const wss = new WebSocketServer({ host: '127.0.0.1', port: portArgument(), perMessageDeflate: false, maxPayload: 128 * 1024 })
wss.on('connection', serveBaseline)
wss.on('listening', () => serveControl(wss.address().port))
