// The registry of one family's methods (feature attributors, data attributors): per method its documentation and
// its constructor from JSON options, both generated from its options struct's visit() (core/json_options.h).
// Adding a method is one line: entry<Method, Options>("name", "what it computes").
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "prism/core/json_options.h"

namespace prism {

template <typename Interface>
struct MethodEntry {
  MethodDoc doc;
  std::function<std::unique_ptr<Interface>(const nlohmann::json&)> make;
};

// A method without options (Options = NoOptions) is made with its default constructor.
template <typename Interface, typename Method, typename Options = NoOptions>
MethodEntry<Interface> entry(const std::string& name, const std::string& summary) {
  auto make = [name](const nlohmann::json& json) -> std::unique_ptr<Interface> {
    const auto options = read_options<Options>(json, name);
    if constexpr (std::is_constructible_v<Method, Options>)
      return std::make_unique<Method>(options);
    else
      return std::make_unique<Method>();
  };
  return {{name, summary, describe_options<Options>()}, make};
}

template <typename Interface>
std::vector<MethodDoc> registry_docs(const std::vector<MethodEntry<Interface>>& registry) {
  std::vector<MethodDoc> docs;
  for (const auto& m : registry) docs.push_back(m.doc);
  return docs;
}

// The method `name` made with `options`, or nullptr when the registry has no such method.
template <typename Interface>
std::unique_ptr<Interface> make_registered(const std::vector<MethodEntry<Interface>>& registry,
                                           const std::string& name, const nlohmann::json& options) {
  for (const auto& m : registry)
    if (m.doc.name == name) return m.make(options);
  return nullptr;
}

}  // namespace prism
