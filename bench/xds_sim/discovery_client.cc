#include "bench/xds_sim/discovery_client.h"

#include "bench/xds_sim/sotw_client.h"

namespace weft::xds_sim {

std::optional<Mode> parseMode(std::string_view text) {
  if (text == "sotw") {
    return Mode::kStateOfTheWorld;
  }
  return std::nullopt;
}

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kStateOfTheWorld:
      return "sotw";
  }
  return "";
}

std::unique_ptr<DiscoveryClient> makeDiscoveryClient(Mode mode, StreamContext context,
                                                     weft::v1::Node node, DiscoveryEvents events) {
  switch (mode) {
    case Mode::kStateOfTheWorld:
      return std::make_unique<SotwClient>(context, std::move(node), std::move(events));
  }
  return nullptr;
}

}  // namespace weft::xds_sim
