#pragma once

#include <nghttp2/nghttp2.h>

#include <vector>

#include "proxy/http2/header_translation.h"

namespace weft::proxy {

// nghttp2's view of a header list. The fields must outlive the call that
// submits the frame (nghttp2 copies them there).
inline std::vector<nghttp2_nv> toNv(const HeaderList& fields) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const HeaderField& field : fields) {
    nva.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(field.name.data())),
                   const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(field.value.data())),
                   field.name.size(), field.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

}  // namespace weft::proxy
