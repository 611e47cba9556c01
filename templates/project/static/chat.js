// The chat room page: one WebSocket to /ws/chat/<room>/ (ChatConsumer in chat/consumers.ts).
const roomName = decodeURIComponent(
  window.location.pathname.split('/').filter(Boolean)[1] ?? 'lobby',
)
const log = document.querySelector('#chat-log')
const input = document.querySelector('#chat-message-input')
const status = document.querySelector('#status')
document.querySelector('#room-name').textContent = roomName

const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
const socket = new WebSocket(
  `${scheme}://${window.location.host}/ws/chat/${encodeURIComponent(roomName)}/`,
)

socket.addEventListener('open', () => {
  status.textContent = 'Connected.'
  document.body.dataset.connected = 'true'
})

socket.addEventListener('message', (event) => {
  const data = JSON.parse(event.data)
  if ('message' in data) {
    log.value += (data.user ? `${data.user}: ` : '') + data.message + '\n'
    log.scrollTop = log.scrollHeight
  } else if ('user' in data) {
    // The consumer's hello: who we are (scope.user, from AuthMiddlewareStack).
    document.querySelector('#user-name').textContent = data.user ?? 'an anonymous visitor'
  }
})

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
