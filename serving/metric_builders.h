// One-line registration of an unlabelled metric on a prometheus-cpp registry, for the workers'
// metric structs.
//
// Thread-safe as prometheus-cpp registration is; the returned metric lives as long as `registry`.
#pragma once

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace baton::serving {

prometheus::Counter* AddCounter(prometheus::Registry& registry, const char* name, const char* help);
prometheus::Gauge* AddGauge(prometheus::Registry& registry, const char* name, const char* help);
prometheus::Histogram* AddHistogram(prometheus::Registry& registry, const char* name,
                                    const char* help,
                                    prometheus::Histogram::BucketBoundaries buckets);

}  // namespace baton::serving
