#include "common/config/reflection_warmup.h"

#include <google/protobuf/message.h>

#include <unordered_set>
#include <vector>

#include "weft/v1/options.pb.h"

namespace weft::config {

void warmReflection(const google::protobuf::Descriptor& root) {
  std::unordered_set<const google::protobuf::Descriptor*> seen;
  std::vector<const google::protobuf::Descriptor*> pending{&root};
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  while (!pending.empty()) {
    const google::protobuf::Descriptor* descriptor = pending.back();
    pending.pop_back();
    if (!seen.insert(descriptor).second) {
      continue;
    }
    if (const google::protobuf::Message* prototype = factory->GetPrototype(descriptor)) {
      prototype->GetReflection();
    }
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const google::protobuf::FieldDescriptor& field = *descriptor->field(i);
      field.options().GetExtension(weft::v1::rules);
      if (field.message_type() != nullptr) {
        pending.push_back(field.message_type());
      }
    }
    for (int i = 0; i < descriptor->oneof_decl_count(); ++i) {
      descriptor->oneof_decl(i)->options().GetExtension(weft::v1::oneof_required);
    }
  }
}

}  // namespace weft::config
