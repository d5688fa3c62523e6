// JSON Schema validation of plugin configs, through RapidJSON's validator (draft 4, the
// draft RapidJSON 1.1 implements; docs/plugins.md says which keywords that gives).
//
//   if (auto ok = json_schema::check_schema(schema_text); !ok) ...   // bad_plugin
//   if (auto ok = json_schema::validate(schema_text, config, "plugins[0].config"); !ok) ...
#pragma once

#include <string_view>

#include "adashta/result.hpp"

namespace adashta::plugins::json_schema {

// Whether text is a JSON object usable as a schema. bad_plugin otherwise, with where the
// text is wrong.
Status check_schema(std::string_view schema);

// Validates instance against schema (both JSON texts; schema passed check_schema). Fails
// with bad_plugin whose detail is "WHERE/pointer: what failed", e.g.
// "plugins[0].config/port: is above the schema's maximum (#/properties/port)".
Status validate(std::string_view schema, std::string_view instance, std::string_view where);

}  // namespace adashta::plugins::json_schema
