// Drives the router's Ollama API with Ollama's official JavaScript client (calls.mjs explains
// the spec and the output). Spec: {"base": "http://127.0.0.1:PORT", "api_key": "...",
// "calls": [{"api": "generate" | "chat" | "list" | "show" | "ps" | "version",
//            "params": {...the method's argument}}]}.
// generate and chat return {text, parts, final}: the text of all parts (one when not
// streaming), how many parts there were, and the last part without its text (done,
// done_reason, the counts). The other methods return the client's answer as it is.
import { Ollama } from 'ollama';
import { runCalls } from './calls.mjs';

function partText(part) {
  return part.response ?? part.message?.content ?? '';
}

// The last part, less the text that `text` already holds.
function finalPart(part) {
  const { response, message, ...rest } = part;
  return rest;
}

async function generate(ollama, api, params) {
  if (!params.stream) {
    const whole = await ollama[api](params);
    return { text: partText(whole), parts: 1, final: finalPart(whole), role: whole.message?.role };
  }
  let text = '';
  let parts = 0;
  let last = null;
  for await (const part of await ollama[api](params)) {
    text += partText(part);
    parts += 1;
    last = part;
  }
  return { text, parts, final: last && finalPart(last), role: last?.message?.role };
}

async function runCall(ollama, call) {
  switch (call.api) {
    case 'generate':
    case 'chat':
      return generate(ollama, call.api, call.params);
    case 'list':
    case 'ps':
    case 'version':
      return ollama[call.api]();
    case 'show':
      return ollama.show(call.params);
    default:
      throw new Error(`unknown api ${call.api}`);
  }
}

runCalls(
  (spec) =>
    new Ollama({
      host: spec.base,
      headers: spec.api_key ? { Authorization: `Bearer ${spec.api_key}` } : undefined,
    }),
  runCall,
  (e) => (e.name === 'ResponseError' ? { status: e.status_code, message: e.error } : undefined),
);
