// Method options given as JSON (from the command line or a fit folder): typed reads and key checks with
// clear errors, shared by every family's factory.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "prism/core/error.h"

namespace prism {

// Reads `key` of `options` into `value` if present, with a clear error on a wrong type.
template <typename T>
void read_option(const nlohmann::json& options, const char* key, T& value, const std::string& method) {
  if (!options.contains(key)) return;
  try {
    value = options.at(key).get<T>();
  } catch (const std::exception&) {
    throw Error("option '" + std::string(key) + "' of " + method + " has the wrong type (" + options.at(key).dump() + ")");
  }
}

// Every key of `options` must be one of `valid`'s; the error lists them.
inline void check_option_keys(const nlohmann::json& options, const nlohmann::json& valid, const std::string& method) {
  require(options.is_object(), "the options of " + method + " must be a JSON object");
  for (const auto& item : options.items()) {
    if (valid.contains(item.key())) continue;
    std::string names;
    for (const auto& v : valid.items()) names += (names.empty() ? "" : ", ") + v.key();
    throw Error("option '" + item.key() + "' does not apply to " + method + "; its options are: " +
                (names.empty() ? "none" : names));
  }
}

}  // namespace prism
