#include "common/metrics.h"

#include <utility>

#include "prometheus/text_serializer.h"

namespace baton::common {

std::string SerializeMetrics(const prometheus::Registry& registry) {
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(registry.Collect());
}

void MountMetricsAndHealth(HttpServer& server, std::shared_ptr<prometheus::Registry> registry,
                           HealthCheck healthy) {
  server.Handle("/metrics", [registry](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.method != "GET" && request.method != "HEAD") {
      writer.Send(405, "text/plain", "use GET\n");
      return;
    }
    writer.Send(200, "text/plain; version=0.0.4; charset=utf-8", SerializeMetrics(*registry));
  });
  server.Handle("/healthz",
                [healthy = std::move(healthy)](const HttpRequest&, HttpResponseWriter& writer) {
                  if (healthy == nullptr || healthy()) {
                    writer.Send(200, "text/plain", "ok\n");
                  } else {
                    writer.Send(503, "text/plain", "unhealthy\n");
                  }
                });
}

prometheus::Histogram::BucketBoundaries LatencyBucketsSeconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace baton::common
