// The process's metrics registry (prometheus-cpp) and the /metrics and /healthz endpoints that
// every baton binary mounts on its HttpServer.
//
// Components add their own families to the registry they are given:
//   auto& steps = prometheus::BuildCounter().Name("baton_decode_steps_total")
//                     .Help("Decode steps run").Register(*registry);
// Thread-safety: prometheus-cpp metrics are thread-safe; the endpoints may be scraped
// concurrently with updates.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/http_server.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace baton::common {

// Prometheus text exposition (format 0.0.4) of every family in `registry`.
std::string SerializeMetrics(const prometheus::Registry& registry);

// Reports whether the process can take work; /healthz answers 200 "ok" when it returns true and
// 503 "unhealthy" otherwise.
using HealthCheck = std::function<bool()>;

// Mounts GET /metrics (text exposition of `registry`) and GET /healthz on `server`.
// Call before server->Start(). `registry` is shared with the components that update it.
void MountMetricsAndHealth(HttpServer& server, std::shared_ptr<prometheus::Registry> registry,
                           HealthCheck healthy);

// Latency buckets in seconds, from 1 ms to about 60 s, for request and step histograms.
prometheus::Histogram::BucketBoundaries LatencyBucketsSeconds();

}  // namespace baton::common
