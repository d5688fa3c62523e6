// Chat page: every message produced to queue `chat` goes to the chat node
// (examples/chat/chat.cpp), which sends it with an `at` timestamp to every client
// consuming `chat`, the sender included.
const client = adashta.connect();

const status = document.getElementById('status');
const joinForm = document.getElementById('join');
const nickInput = document.getElementById('nick');
const room = document.getElementById('room');
const messages = document.getElementById('messages');
const sayForm = document.getElementById('say');
const textInput = document.getElementById('text');
const problem = document.getElementById('problem');

let nick = localStorage.getItem('adashta-chat.nick') || '';
nickInput.value = nick;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function showStatus(text, connected) {
  status.textContent = text;
  status.classList.toggle('connected', connected);
}

client.on('connect', () => showStatus('connected', true));
client.on('disconnect', () => showStatus('reconnecting…', false));
client.on('error', (err) => { problem.textContent = err.message; });

// Lines are kept in stream order (by offset): history fetched on arrival and live lines can
// come in either order, and a line can come twice (history and live): it is shown once.
const shown = new Set();

// Builds the row with textContent only: nick and text come from other users.
function render({ nick: from, text, at }, offset) {
  if (offset !== undefined) {
    if (shown.has(offset)) return;
    shown.add(offset);
  }
  const li = document.createElement('li');
  if (offset !== undefined) li.dataset.offset = String(offset);
  if (from === nick) li.className = 'mine';
  const who = document.createElement('span');
  who.className = 'nick';
  who.textContent = String(from);
  const when = document.createElement('time');
  const date = new Date(Number(at) || Date.now());
  when.dateTime = date.toISOString();
  when.textContent = timeFormat.format(date);
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = String(text);
  li.append(when, who, body);

  // Keep following the conversation unless the reader scrolled up to read older lines.
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  let next = null;  // the first shown line that comes after this one in the stream
  if (offset !== undefined) {
    for (let row = messages.lastElementChild; row && Number(row.dataset.offset) > offset;
      row = row.previousElementSibling) next = row;
  }
  messages.insertBefore(li, next);
  if (atBottom) messages.scrollTop = messages.scrollHeight;
}

function enterRoom() {
  joinForm.hidden = true;
  room.hidden = false;
  textInput.focus();
}

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  nick = nickInput.value.trim();
  if (!nick) return;
  localStorage.setItem('adashta-chat.nick', nick);
  enterRoom();
});

sayForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (!text) return;
  textInput.value = '';
  problem.textContent = '';
  client.produce('chat', { nick, text }).catch((err) => {
    problem.textContent = `Not sent: ${err.message}` + (err.hint ? ` (${err.hint})` : '');
    if (!textInput.value) textInput.value = text; // give the text back so it can be sent again
  });
});

client.consume('chat', (line, meta) => render(line, meta.offset))
  .catch((err) => { problem.textContent = err.message; });

// A newcomer sees what was said in the last hour (the edge keeps it: the queue's retention),
// the last kHistory lines of it. Pages are read until the stream runs out, at most ten.
const kHistory = 50;
async function showHistory() {
  let lines = [];
  let request = { since: Date.now() - 3600 * 1000, limit: 1000 };
  for (let page = 0; page < 10; page++) {
    const { messages: got, next } = await client.fetch('chat', request);
    lines = lines.concat(got).slice(-kHistory);
    if (got.length < request.limit) break;
    request = { from: next, limit: 1000 };
  }
  for (const m of lines) render(m.data, m.offset);
}
showHistory().catch((err) => { problem.textContent = `No history: ${err.message}`; });
