// The router's Ollama-compatible HTTP API, a thin adapter over InferenceBackend:
//   POST /api/generate  a prompt (endpoint "ollama_generate")   GET  /api/tags     served models
//   POST /api/chat      messages (endpoint "ollama_chat")       POST /api/show     one model
//   GET  /api/version   a version Ollama's clients accept       GET  /api/ps       loaded models
// Requests are translated into baton.v1 messages (ollama_request.h) and the answers back
// (ollama_response.h): streamed by default as NDJSON (application/x-ndjson, one object per line,
// the last with done: true and the counts and durations), or one object with stream=false.
// Model names may carry Ollama's default tag (":latest"). Every rule lives behind the backend;
// this adapter rejects only bad JSON, wrong types, a missing model, images (400), a missing or
// wrong API key (401) and a body over the limit (413). Errors are {"error": "<message>"} with
// HttpStatusFor's status (429 adds Retry-After); one after the stream started is the last line.
//
// Threading: handlers run on the HTTP server's connection threads, any number at a time.
#pragma once

#include "common/http_server.h"
#include "router/http_api.h"
#include "router/inference_backend.h"

namespace baton::router {

// Registers the routes above on `server` (before it starts). `backend` must outlive the server;
// `options` is copied.
void MountOllamaApi(common::HttpServer& server, InferenceBackend& backend,
                    const HttpApiOptions& options);

}  // namespace baton::router
