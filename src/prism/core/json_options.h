// Method options given as JSON (from the command line, Python keywords or a fit folder): typed reads and key
// checks with clear errors, and the declare-once scheme every family's options structs use.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

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

// An option as the command line, the Python docstrings and the JSON options know it.
struct OptionDoc {
  std::string key, help;
  nlohmann::json default_value;
};

// What a method computes and its options, for the command line's help and the Python docstrings.
struct MethodDoc {
  std::string name, summary;
  std::vector<OptionDoc> options;
};

// Each options struct declares every option once, in a member
//   template <typename Visit> void visit(Visit&& option) { option("key", field, "what it does"); ... }
// from which reading, writing and describing are generated here.

// The options struct of a method without options.
struct NoOptions {
  template <typename Visit>
  void visit(Visit&&) {}
};

// The options as JSON (what a method's options() reports and a fit folder records).
template <typename Options>
nlohmann::json options_json(Options options) {
  nlohmann::json out = nlohmann::json::object();
  options.visit([&](const char* key, auto& field, const char*) { out[key] = field; });
  return out;
}

// The options given in `json` over the defaults; unknown keys and wrong types are errors naming `method`.
template <typename Options>
Options read_options(const nlohmann::json& json, const std::string& method) {
  Options options;
  check_option_keys(json, options_json(options), method);
  options.visit([&](const char* key, auto& field, const char*) { read_option(json, key, field, method); });
  return options;
}

// Every option with its help and default, in declaration order.
template <typename Options>
std::vector<OptionDoc> describe_options() {
  std::vector<OptionDoc> out;
  Options options;
  options.visit([&](const char* key, auto& field, const char* help) { out.push_back({key, help, field}); });
  return out;
}

}  // namespace prism
