// The router's OpenAI-compatible HTTP API, a thin adapter over InferenceBackend:
//   POST /v1/completions       text prompt        (CallContext endpoint "openai_completions")
//   POST /v1/chat/completions  chat messages      (endpoint "openai_chat")
//   GET  /v1/models            the served models
// Requests are translated into baton.v1 messages (openai_request.h) and the answers back
// (openai_response.h), whole or as server-sent events (stream=true: "data: <json>\n\n" per chunk,
// then one carrying finish_reason, a usage chunk if stream_options.include_usage, "data: [DONE]").
// Every rule lives behind the backend; this adapter rejects only what it alone can see: bad JSON
// (400), wrong types or missing fields (400 naming the field), n != 1, a missing or wrong API key
// (401), a body over the limit (413). A backend error becomes HttpStatusFor(code) with OpenAI's
// error body (429 adds Retry-After); one that comes after the stream started is sent as a
// `data: {"error": ...}` event, then [DONE].
//
// Threading: handlers run on the HTTP server's connection threads, any number at a time.
#pragma once

#include "common/http_server.h"
#include "router/http_api.h"
#include "router/inference_backend.h"

namespace baton::router {

// Registers the routes above on `server` (before it starts). `backend` must outlive the server;
// `options` is copied.
void MountOpenAiApi(common::HttpServer& server, InferenceBackend& backend,
                    const HttpApiOptions& options);

}  // namespace baton::router
