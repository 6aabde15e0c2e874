#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>

#include "controlplane/resources/built_resource.h"

namespace weft::controlplane::testing {

// The weft.v1 message a resource's bytes encode; null (and a test failure) if they do not
// parse.
std::unique_ptr<google::protobuf::Message> parseResource(const BuiltResource& resource);

// Every resource of a proxy in push order, each as a header line "-- <type> <name> @<version>"
// followed by the message as pretty-printed JSON with proto field names.
std::string renderResources(const ProxyResources& resources);

}  // namespace weft::controlplane::testing
