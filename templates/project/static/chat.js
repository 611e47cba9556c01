// The chat room page: one WebSocket to /ws/chat/<room>/ (ChatConsumer in chat/consumers.ts).
const roomName = decodeURIComponent(
  window.location.pathname.split('/').filter(Boolean)[1] ?? 'lobby',
)
const log = document.querySelector('#chat-log')
const input = document.querySelector('#chat-message-input')
const status = document.querySelector('#status')
const historyNote = document.querySelector('#history-note')
document.querySelector('#room-name').textContent = roomName

const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
const socket = new WebSocket(
  `${scheme}://${window.location.host}/ws/chat/${encodeURIComponent(roomName)}/`,
)

socket.addEventListener('open', () => {
  status.textContent = 'Connected.'
  document.body.dataset.connected = 'true'
})

const line = (data) => (data.user ? `${data.user}: ` : '') + data.message + '\n'
// Lines received before the history arrived.
let arrived = []

socket.addEventListener('message', (event) => {
  const data = JSON.parse(event.data)
  if ('message' in data) {
    arrived?.push(line(data))
    log.value += line(data)
    log.scrollTop = log.scrollHeight
  } else if ('user' in data) {
    // The consumer's hello: who we are (scope.user, from AuthMiddlewareStack). We are in the
    // room now: later messages come over the socket, earlier ones with the history.
    document.querySelector('#user-name').textContent = data.user ?? 'an anonymous visitor'
    loadHistory()
  }
})

// The room's last messages (chat/worker.ts), shown above those received meanwhile.
async function loadHistory() {
  try {
    const response = await fetch(`/chat/${encodeURIComponent(roomName)}/history/`)
    const { messages, kept } = await response.json()
    const lines = messages.map(line)
    // A message sent while the request was on its way can be in both: drop it from the history.
    let overlap = Math.min(lines.length, arrived.length)
    while (overlap > 0 && lines.slice(-overlap).some((text, i) => text !== arrived[i])) overlap--
    log.value = lines.slice(0, lines.length - overlap).join('') + log.value
    log.scrollTop = log.scrollHeight
    if (!kept) historyNote.textContent = 'No earlier messages: no chat-log worker answered.'
    document.body.dataset.history = kept ? 'loaded' : 'unavailable'
  } catch {
    document.body.dataset.history = 'failed'
  }
  arrived = null
}

socket.addEventListener('close', () => {
  status.textContent = 'Chat socket closed unexpectedly.'
  document.body.dataset.connected = 'false'
})

document.querySelector('#chat-form').addEventListener('submit', (event) => {
  event.preventDefault()
  if (input.value === '') return
  socket.send(JSON.stringify({ message: input.value }))
  input.value = ''
})
