#include "proxy/router/header_mutation.h"

#include <algorithm>

namespace weft::proxy {

void MutationChain::apply(boost::beast::http::fields& fields) const {
  for (const HeaderMutationConfig* level : levels) {
    if (level == nullptr) {
      break;
    }
    for (const std::string& name : level->remove) {
      fields.erase(name);
    }
    for (const HeaderField& field : level->set) {
      fields.set(field.name, field.value);
    }
    for (const HeaderField& field : level->append) {
      fields.insert(field.name, field.value);
    }
  }
}

void MutationChain::apply(HeaderList& fields) const {
  auto erase_named = [&fields](const std::string& name) {
    std::erase_if(fields, [&name](const HeaderField& field) { return field.name == name; });
  };
  for (const HeaderMutationConfig* level : levels) {
    if (level == nullptr) {
      break;
    }
    for (const std::string& name : level->remove) {
      erase_named(name);
    }
    for (const HeaderField& field : level->set) {
      erase_named(field.name);
      fields.push_back(field);
    }
    for (const HeaderField& field : level->append) {
      fields.push_back(field);
    }
  }
}

}  // namespace weft::proxy
