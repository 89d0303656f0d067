// Drives the router's OpenAI-compatible API with OpenAI's official SDK (calls.mjs explains the
// spec and the output). Spec: {"base": "http://127.0.0.1:PORT", "api_key": "...",
// "calls": [{"api": "completions" | "chat" | "models", "params": {...create() arguments}}]}.
// A generation's result folds a stream into what a whole response says: text, finish_reason,
// usage (from the include_usage chunk when streaming) and how many chunks carried it.
import OpenAI from 'openai';
import { runCalls } from './calls.mjs';

// The text a choice carries in each response shape: completion, chat message, chat delta.
function choiceText(choice) {
  return choice.text ?? choice.message?.content ?? choice.delta?.content ?? '';
}

async function generate(endpoint, params) {
  const response = await endpoint.create(params);
  if (!params.stream) {
    const choice = response.choices[0];
    return {
      text: choiceText(choice),
      finish_reason: choice.finish_reason,
      usage: response.usage,
      object: response.object,
      model: response.model,
      choices: response.choices.length,
    };
  }
  const result = { text: '', finish_reason: null, usage: null, chunks: 0, ids: [] };
  for await (const chunk of response) {
    result.chunks += 1;
    if (!result.ids.includes(chunk.id)) result.ids.push(chunk.id);
    result.object = chunk.object;
    result.model = chunk.model;
    if (chunk.usage) {
      result.usage = chunk.usage;
      result.usage_chunk_choices = chunk.choices.length;
    }
    for (const choice of chunk.choices) {
      result.text += choiceText(choice);
      if (choice.finish_reason) result.finish_reason = choice.finish_reason;
    }
  }
  return result;
}

async function runCall(openai, call) {
  switch (call.api) {
    case 'completions':
      return generate(openai.completions, call.params);
    case 'chat':
      return generate(openai.chat.completions, call.params);
    case 'models': {
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      return { ids };
    }
    default:
      throw new Error(`unknown api ${call.api}`);
  }
}

runCalls(
  (spec) =>
    new OpenAI({
      baseURL: `${spec.base}/v1`,
      apiKey: spec.api_key || 'no-key',
      // The test judges every answer, 429 and 5xx included: no silent retries.
      maxRetries: 0,
      timeout: 120 * 1000,
    }),
  runCall,
  (e) =>
    e instanceof OpenAI.APIError
      ? { status: e.status ?? null, message: e.message, body: e.error ?? null }
      : undefined,
);
