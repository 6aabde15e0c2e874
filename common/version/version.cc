#include "common/version/version.h"

#include "build_info.h"

namespace weft {

std::string_view version() {
  return WEFT_VERSION;
}

std::string_view gitCommit() {
  return WEFT_GIT_COMMIT;
}

std::string versionLine(std::string_view program) {
  std::string line(program);
  line += " ";
  line += WEFT_VERSION;
  line += " (commit ";
  line += WEFT_GIT_COMMIT;
  line += ", ";
  line += WEFT_BUILD_TYPE;
  line += ")";
  return line;
}

}  // namespace weft
