#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/tracing/finished_span.h"

namespace weft::proxy {

// An OTLP/HTTP JSON export request (ExportTraceServiceRequest) holding `spans` under one
// resource whose service.name is `service_name`. Ids are hex, times are nanosecond strings, as
// the OTLP JSON mapping has them.
std::string encodeOtlpJson(std::span<const FinishedSpan> spans, std::string_view service_name);

// A Zipkin v2 JSON span list (POST /api/v2/spans).
std::string encodeZipkinJson(std::span<const FinishedSpan> spans, std::string_view service_name);

}  // namespace weft::proxy
