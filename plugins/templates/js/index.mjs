// {{name}}: a JavaScript plugin for Adashta Queue (docs/plugins.md, "JavaScript").
//
// Every hook gets (msg, client) and returns nothing to let the message pass unchanged,
// adashta.pass(data) to change its data, adashta.drop(reason) or adashta.reject(reason).
// msg.data is parsed the first time the hook reads it.
const maxLength = adashta.config.maxLength ?? 1000;

export function on_message(msg, client) {
  if (typeof msg.data?.text !== 'string') return;
  if (msg.data.text.length > maxLength) return adashta.reject(`text is longer than ${maxLength} characters`);
  return adashta.pass({ ...msg.data, text: msg.data.text.trim() });
}
