// SPDX-License-Identifier: Apache-2.0
// Agent configuration: Flume's properties format, read into a model that
// remembers where every value came from, so that every problem can be reported
// as `file:line: key: message` (docs/configuration.md, DESIGN.md §2).
//
// Reading and checking are separate steps:
//   1. read_properties()  Java .properties grammar -> ordered (key, value, line)
//   2. build_agent_config() Flume's rules (agent lists, component keys,
//      `channels` vs `channel`, ${env:X}) -> AgentConfig, with problems
//   3. validate_agent()   registry-driven: types, keys, values, bindings
// Nothing here starts anything; the result is plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace sluice {

enum class ComponentKind { source, channel, sink, sinkgroup, stream };
std::string_view kind_name(ComponentKind k);  // "source", "channel", ...
std::string_view kind_plural(ComponentKind k);  // "sources", "channels", ...

// A value with where it was written. `line` is 0 for values that came from
// the command line (-D) or from defaults.
struct ConfigValue {
    std::string value;
    int line = 0;
};

// One problem found while reading or checking a configuration.
struct ConfigProblem {
    enum class Severity { error, warning };
    Severity severity = Severity::error;
    std::string file;
    int line = 0;
    std::string key;      // full key as written, e.g. a1.sinks.k1.channel
    std::string message;  // e.g. unknown channel 'c9'
    // `file:line: key: message` (fields that are empty are left out).
    std::string to_string() const;
};

struct ComponentConfig {
    ComponentKind kind = ComponentKind::source;
    std::string name;
    std::string key_prefix;  // "a1.sources.r1." — to rebuild full keys in messages
    int line = 0;            // the line of its `type` key, else of its first key
    // Keys relative to the component ("type", "port", "sink.directory", ...),
    // after ${...} substitution.
    std::map<std::string, ConfigValue> props;

    const ConfigValue* find(const std::string& key) const;
    std::string full_key(const std::string& key) const { return key_prefix + key; }
};

struct AgentConfig {
    std::string agent;
    std::string file;
    // In the order of the agent's lists (a1.sources = r1 r2 ...).
    std::vector<ComponentConfig> sources, channels, sinks, sinkgroups, streams;

    std::vector<ComponentConfig>& of(ComponentKind k);
    const std::vector<ComponentConfig>& of(ComponentKind k) const;
    const ComponentConfig* find(ComponentKind k, const std::string& name) const;
};

// A Flume list value (`a1.sources = r1 r2`, `selector.optional = c2`): the
// names separated by white space.
std::vector<std::string> split_list(std::string_view s);

// One logical entry of a .properties file.
struct PropertyLine {
    std::string key;
    std::string value;
    int line = 0;  // where the logical line starts
};

// The Java .properties grammar: `#`/`!` comments, `=`, `:` or white space as
// separator, backslash continuation, \t \n \r \f \uXXXX escapes. Later
// repeats of a key replace earlier ones (as java.util.Properties does); the
// result is in first-appearance order.
std::vector<PropertyLine> parse_properties(std::string_view text);
// Same, reporting what java.util.Properties would reject (a malformed \uXXXX
// escape) as errors against FILE_LABEL; the offending escape is kept as text.
std::vector<PropertyLine> parse_properties(std::string_view text, const std::string& file_label,
                                           std::vector<ConfigProblem>& problems);

struct ReadOptions {
    std::string agent;                             // -n NAME
    std::map<std::string, std::string> overrides;  // -Dkey=value (full keys)
    // ${env:X} lookups; tests inject their own. Default: getenv.
    std::optional<std::map<std::string, std::string>> env;
};

// Reads FILE and applies Flume's structural rules. Problems are appended; the
// returned config holds what could be understood. An unreadable file is one
// problem with line 0.
AgentConfig read_agent_config(const std::string& file, const ReadOptions& opts,
                              std::vector<ConfigProblem>& problems);
// Same, from text (used by the C API and by tests).
AgentConfig read_agent_config_text(std::string_view text, const std::string& file_label,
                                   const ReadOptions& opts, std::vector<ConfigProblem>& problems);

}  // namespace sluice
