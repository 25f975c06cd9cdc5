// The chat page: one RoomcastClient, rooms in the sidebar, people on the right.
// Everything user-provided is rendered with textContent, never as HTML.
import { RoomcastClient, clientEncryption } from '/roomcast/roomcast-client.js'

const $ = (id) => document.getElementById(id)
const MAX_MESSAGES = 200
/** Messages a page shows from before it joined a room (the server keeps 200 per room). */
const BACKLOG = 50
const ROOM = /^[a-z0-9-]{1,32}$/

const view = {
  client: undefined,
  name: '',
  active: undefined,
  /** room → [{ kind: 'message' | 'notice', ... }] */
  messages: new Map(),
  /** room → Set of user ids */
  people: new Map(),
  /** room → unread count */
  unread: new Map(),
}

// ------------------------------------------------------------------ connection

function start(name) {
  view.name = name
  // The connection to the server is encrypted (on top of TLS) unless the page is opened with
  // ?encryption=off; the server allows both. The server itself reads every message.
  const encrypt = new URLSearchParams(location.search).get('encryption') !== 'off'
  const client = new RoomcastClient('/ws', { auth: () => ({ name }), transform: encrypt ? clientEncryption() : undefined })
  view.client = client
  window.roomcastChat = view

  client.on('state', ({ state }) => renderStatus(state))
  client.on('connected', (info) => {
    $('login').hidden = true
    $('chat').hidden = false
    $('me').hidden = false
    $('me-name').textContent = info.userId
    paintAvatar($('me-avatar'), info.userId)
    for (const room of info.rooms) ensureRoom(room)
    if (view.active === undefined || !info.rooms.includes(view.active)) view.active = info.rooms[0]
    for (const room of info.rooms) refreshPeople(room)
    // The rooms the server put us in (the lobby) were not joined with a rewind: load what was said.
    if (!info.reconnected) for (const room of info.rooms) if (view.messages.get(room).length === 0) reload(room)
    render()
    if (!info.reconnected) $('text').focus()
  })
  client.on('disconnected', ({ error }) => {
    // Refused by the app (a name it does not accept) or by the events' auth schema (not a name at all).
    if (error.code === 'auth_refused' || error.code === 'invalid_data') {
      showLogin('That name was not accepted. Try letters, digits, spaces, _ . or -.')
    } else {
      toast(`Disconnected: ${error.message}`)
    }
  })
  client.on('reconnecting', ({ delay }) => {
    renderStatus('reconnecting', delay === undefined ? 'waiting for the network…' : `reconnecting in ${Math.round(delay / 100) / 10}s…`)
  })
  client.on('error', (error) => toast(error.message))

  // Missed messages (after a blip, or a gap the server reported) arrive here too, in order and once.
  client.on('chat.message', (message, meta) => addEntry(message.room, messageEntry(message, meta)))
  client.on('chat.notice', (notice, meta) => addEntry(notice.room, noticeEntry(notice, meta)))
  client.on('recovery', ({ room, recovered }) => {
    // The server could not hand over everything that was missed (its history was lost, or the gap
    // was longer than it keeps): say so, and show what the room's history holds now.
    if (!recovered) reload(room, 'history was lost, reloaded')
  })
  client.on('presence', ({ room, userId, action }) => {
    const people = view.people.get(room) ?? new Set()
    view.people.set(room, people)
    if (action === 'join') people.add(userId)
    else {
      people.delete(userId)
      addEntry(room, { kind: 'notice', text: `${userId} left` })
    }
    if (room === view.active) renderPeople()
  })
}

async function refreshPeople(room) {
  try {
    const { users } = await view.client.request('chat.who', { room })
    view.people.set(room, new Set(users))
    if (room === view.active) renderPeople()
  } catch (error) {
    if (error.code !== 'not_in_room') toast(error.message)
  }
}

/** Replaces a room's messages with what its history holds now, keeping live ones that came after it. */
async function reload(room, notice) {
  try {
    const history = await view.client.history(room, { limit: BACKLOG })
    const entries = []
    for (const publication of history.publications) {
      const meta = { offset: publication.offset, epoch: history.epoch }
      if (publication.event === 'chat.message') entries.push(messageEntry(publication.data, meta))
      else if (publication.event === 'chat.notice') entries.push(noticeEntry(publication.data, meta))
    }
    if (notice !== undefined) entries.push({ kind: 'notice', text: notice, lost: true })
    const newer = (view.messages.get(room) ?? []).filter((entry) => entry.epoch === history.epoch && entry.offset > history.offset)
    view.messages.set(room, [...entries, ...newer])
    if (room === view.active) renderMessages()
  } catch (error) {
    if (error.code !== 'not_in_room') toast(`Could not load ${room}: ${error.message}`)
  }
}

// ------------------------------------------------------------------ state

function messageEntry(message, meta) {
  return { kind: 'message', from: message.from, text: message.text, at: message.at, offset: meta.offset, epoch: meta.epoch }
}

function noticeEntry(notice, meta) {
  return { kind: 'notice', text: notice.text, offset: meta.offset, epoch: meta.epoch }
}

function ensureRoom(room) {
  if (!view.messages.has(room)) view.messages.set(room, [])
  if (!view.people.has(room)) view.people.set(room, new Set())
}

function addEntry(room, entry) {
  ensureRoom(room)
  const list = view.messages.get(room)
  list.push(entry)
  if (list.length > MAX_MESSAGES) list.splice(0, list.length - MAX_MESSAGES)
  if (room === view.active) renderMessages()
  else {
    view.unread.set(room, (view.unread.get(room) ?? 0) + 1)
    renderRooms()
  }
}

function select(room) {
  view.active = room
  view.unread.delete(room)
  render()
  $('text').focus()
}

// ------------------------------------------------------------------ rendering

function render() {
  renderRooms()
  renderMessages()
  renderPeople()
}

function renderStatus(state, detail) {
  document.body.dataset.state = state
  const labels = {
    connecting: 'connecting…',
    authenticating: 'signing in…',
    connected: view.client?.encrypted ? 'connected · encrypted to the server' : 'connected',
    reconnecting: 'reconnecting…',
    closed: 'not connected',
    disconnected: 'disconnected',
  }
  $('status-text').textContent = detail ?? labels[state] ?? state
}

function renderRooms() {
  const list = $('room-list')
  list.replaceChildren()
  for (const room of view.client?.rooms ?? []) {
    const item = document.createElement('li')
    item.dataset.room = room
    if (room === view.active) item.className = 'active'
    const button = document.createElement('button')
    button.type = 'button'
    const label = document.createElement('span')
    label.textContent = `# ${room}`
    button.append(label)
    const unread = view.unread.get(room)
    if (unread) {
      const badge = document.createElement('span')
      badge.className = 'unread'
      badge.textContent = String(unread)
      button.append(badge)
    }
    button.addEventListener('click', () => select(room))
    item.append(button)
    list.append(item)
  }
  $('room-title').textContent = view.active === undefined ? 'No room' : `# ${view.active}`
  $('leave-room').hidden = view.active === undefined
  $('send-form').hidden = view.active === undefined
}

function renderMessages() {
  const list = $('messages')
  list.replaceChildren()
  const entries = view.messages.get(view.active) ?? []
  if (view.active === undefined || entries.length === 0) {
    const empty = document.createElement('li')
    empty.className = 'empty'
    empty.textContent = view.active === undefined ? 'Join a room to start talking.' : 'No messages yet. Say hello!'
    list.append(empty)
    return
  }
  for (const entry of entries) list.append(entry.kind === 'notice' ? noticeItem(entry) : messageItem(entry))
  list.scrollTop = list.scrollHeight
}

function messageItem(entry) {
  const item = document.createElement('li')
  item.className = entry.from === view.name ? 'message mine' : 'message'
  item.dataset.from = entry.from
  const avatar = document.createElement('span')
  paintAvatar(avatar, entry.from)
  const body = document.createElement('div')
  const meta = document.createElement('div')
  meta.className = 'meta'
  const from = document.createElement('span')
  from.className = 'from'
  from.textContent = entry.from
  const time = document.createElement('time')
  const at = new Date(entry.at)
  time.dateTime = at.toISOString()
  time.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  meta.append(from, time)
  const text = document.createElement('div')
  text.className = 'text'
  text.textContent = entry.text
  body.append(meta, text)
  item.append(avatar, body)
  return item
}

function noticeItem(entry) {
  const item = document.createElement('li')
  item.className = entry.lost ? 'notice lost' : 'notice'
  item.textContent = entry.text
  return item
}

function renderPeople() {
  const list = $('people')
  list.replaceChildren()
  const people = [...(view.people.get(view.active) ?? [])].sort((a, b) => a.localeCompare(b))
  $('people-count').textContent = String(people.length)
  $('people-toggle-count').textContent = String(people.length)
  for (const person of people) {
    const item = document.createElement('li')
    item.dataset.user = person
    const avatar = document.createElement('span')
    paintAvatar(avatar, person)
    const name = document.createElement('span')
    name.textContent = person
    item.append(avatar, name)
    if (person === view.name) {
      const you = document.createElement('span')
      you.className = 'you'
      you.textContent = '(you)'
      item.append(you)
    }
    list.append(item)
  }
}

function paintAvatar(element, name) {
  element.className = 'avatar'
  element.textContent = (name.trim()[0] ?? '?').toUpperCase()
  // FNV-1a over the name, spread around the colour wheel by the golden angle.
  let hash = 0x811c9dc5
  for (const char of name) hash = Math.imul(hash ^ char.codePointAt(0), 0x01000193) >>> 0
  element.style.setProperty('--hue', String(Math.round((hash * 137.508) % 360)))
}

let toastTimer
function toast(text) {
  const element = $('toast')
  element.textContent = text
  element.hidden = false
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => (element.hidden = true), 4000)
}

function showLogin(message) {
  view.client?.close()
  view.client = undefined
  view.active = undefined
  view.messages.clear()
  view.people.clear()
  view.unread.clear()
  showPeople(false)
  $('chat').hidden = true
  $('me').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message ?? ''
  renderStatus('closed')
  $('name').focus()
}

/** On narrow screens the people panel is a drawer, opened and closed from the conversation's head. */
function showPeople(open) {
  document.body.classList.toggle('people-open', open)
  $('people-toggle').setAttribute('aria-expanded', String(open))
}

// ------------------------------------------------------------------ forms

$('people-toggle').addEventListener('click', () => {
  const open = !document.body.classList.contains('people-open')
  showPeople(open)
  if (open) $('people-close').focus()
})
$('people-close').addEventListener('click', () => {
  showPeople(false)
  $('people-toggle').focus()
})
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && document.body.classList.contains('people-open')) {
    showPeople(false)
    $('people-toggle').focus()
  }
})

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const name = $('name').value.trim()
  if (name === '') return
  $('login-error').textContent = ''
  start(name)
})

$('sign-out').addEventListener('click', () => showLogin())

$('join-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const input = $('room-name')
  const room = input.value.trim().toLowerCase()
  if (!ROOM.test(room)) {
    toast('Room names use lowercase letters, digits and dashes.')
    return
  }
  try {
    // The room's recent messages arrive before the join resolves: no empty room for a late joiner.
    await view.client.join(room, { rewind: BACKLOG })
    input.value = ''
    ensureRoom(room)
    select(room)
    refreshPeople(room)
  } catch (error) {
    toast(`Could not join ${room}: ${error.message}`)
  }
})

$('leave-room').addEventListener('click', async () => {
  const room = view.active
  if (room === undefined) return
  try {
    await view.client.leave(room)
  } catch (error) {
    toast(error.message)
  }
  view.messages.delete(room)
  view.people.delete(room)
  view.unread.delete(room)
  view.active = view.client.rooms[0]
  render()
})

$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const input = $('text')
  const text = input.value.trim()
  if (text === '' || view.active === undefined) return
  input.value = ''
  try {
    await view.client.request('chat.send', { room: view.active, text })
  } catch (error) {
    input.value = input.value || text
    toast(`Not sent: ${error.message}`)
  }
})
