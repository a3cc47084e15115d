// SPDX-License-Identifier: Apache-2.0
// The component registry: one static descriptor per component type, keyed by
// Flume's type name. A descriptor's key table is the single source of truth
// for its configuration: it drives parsing and validation (validate_agent),
// the `sluice check` output, and docs/configuration.md (`sluice config-reference`).
//
// Descriptors are registered once at start-up (io/components.cc) before any
// configuration is read, and are immutable afterwards; lookups are lock-free.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace sluice {

class Source;
class Sink;
class Channel;
struct SourceContext;
struct SinkContext;
struct ChannelContext;
struct StreamContext;
class Stream;

enum class KeyType {
    string,
    integer,      // 64-bit signed, decimal
    boolean,      // true/false (case-insensitive), as Java's Boolean.parseBoolean: anything else is false
    number,       // double
    duration_ms,  // plain integer = milliseconds, or 500ms / 10s / 5m
    duration_s,   // plain integer = seconds (Flume keys in seconds), or 500ms / 10s / 5m
    bytes,        // plain integer = bytes
    list,         // white-space separated names
    choice,       // one of `choices` (case-insensitive)
    prefix,       // `key` ends in ".": any key under it is accepted and passed through
};

struct KeySpec {
    std::string_view key;
    KeyType type = KeyType::string;
    std::string_view default_value;  // as a user would write it; empty: no default
    bool required = false;
    std::string_view description;
    int64_t min = INT64_MIN;  // for integer / duration / bytes, in the key's unit
    int64_t max = INT64_MAX;
    std::vector<std::string_view> choices = {};
    // Where sluice's default or meaning differs from Flume's, and why.
    std::string_view differs_from_flume = {};
    // The value (a comma-separated list of directories, or the default) is
    // owned by this component: validation rejects another component naming
    // one of them, since the second to start could not lock it.
    bool owns_directories = false;
};

// A component's settings after validation: every declared key has a value
// (given or default) of its declared type, so the getters cannot fail. Asking
// for an undeclared key is a bug (assert).
class ComponentSettings {
public:
    ComponentSettings() = default;
    ComponentSettings(const ComponentConfig* config, const std::vector<KeySpec>* keys);

    const std::string& name() const;
    const ComponentConfig& config() const { return *_config; }
    bool has(std::string_view key) const;  // written by the user (not defaulted)
    std::string get_string(std::string_view key) const;
    int64_t get_int(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    double get_number(std::string_view key) const;
    int64_t get_duration_ms(std::string_view key) const;
    std::vector<std::string> get_list(std::string_view key) const;
    // For prefix keys: every (relative key, value) under `prefix`.
    std::vector<std::pair<std::string, std::string>> get_prefixed(std::string_view prefix) const;

private:
    const KeySpec& spec(std::string_view key) const;
    std::optional<std::string_view> raw(std::string_view key) const;  // user value or default, if any
    const ComponentConfig* _config = nullptr;
    const std::vector<KeySpec>* _keys = nullptr;
};

// Checks one value against its spec; on failure returns the message
// ("expected an integer, got 'abc'"). Used by validation and by the getters.
Status check_value(const KeySpec& spec, std::string_view value);
// Parses a duration in milliseconds; `plain_unit_ms` is the unit of a bare number.
Result<int64_t> parse_duration_ms(std::string_view text, int64_t plain_unit_ms);

using SourceFactory = std::function<Result<std::unique_ptr<Source>>(SourceContext&)>;
using SinkFactory = std::function<Result<std::unique_ptr<Sink>>(SinkContext&)>;
using ChannelFactory = std::function<Result<std::unique_ptr<Channel>>(ChannelContext&)>;
using StreamFactory = std::function<Result<std::unique_ptr<Stream>>(StreamContext&)>;
// Extra checks beyond the key table (e.g. transactionCapacity <= capacity).
// Append problems with the given key names relative to the component.
using ComponentCheck = std::function<void(const ComponentSettings&,
                                          std::vector<std::pair<std::string, std::string>>& key_and_message)>;

// A part of a component, configured under one of its key prefixes: an
// interceptor (`interceptors.<name>.`), a channel selector (`selector.`), a
// sink processor (`processor.`). Its keys are relative to that prefix;
// validate_agent() checks them as it checks a component's own keys.
struct PartDescriptor {
    std::string_view type;                  // Flume's alias: "timestamp", "multiplexing", "failover"
    std::vector<std::string_view> aliases;  // Flume class names
    std::string_view description;
    std::vector<KeySpec> keys;
    ComponentCheck check = {};
};

// The keys of `c` under `prefix` as a component of their own (keys relative
// to the prefix, full keys still right in messages), so ComponentSettings can
// read a part's keys against its PartDescriptor.
ComponentConfig sub_component(const ComponentConfig& c, std::string_view prefix, const std::string& name);
// Case-insensitive match on type or alias.
const PartDescriptor* find_part(const std::vector<const PartDescriptor*>& parts, std::string_view type);

struct ComponentDescriptor {
    ComponentKind kind = ComponentKind::source;
    std::string_view type;                  // Flume's alias: "netcat", "memory", "logger"
    std::vector<std::string_view> aliases;  // other accepted names (Flume class names)
    std::string_view description;
    std::vector<KeySpec> keys;
    // The key that bounds one transaction's size, checked against the channel's
    // transactionCapacity as Flume does (§2.6); empty if the component has none.
    std::string_view batch_size_key = {};
    ComponentCheck check = {};
    // Counters of this type beyond its kind's (Flume's Kafka timers), in
    // order after them: counter index = the kind's count_ + position here.
    std::vector<std::string_view> extra_counters = {};
    // Whether, with these settings, the component uses the directories of its
    // owns_directories keys (unset: always); one that does not cannot clash.
    std::function<bool(const ComponentSettings&)> uses_directories = {};
    SourceFactory make_source = {};
    SinkFactory make_sink = {};
    ChannelFactory make_channel = {};
    StreamFactory make_stream = {};
};

class Registry {
public:
    static Registry& global();

    void add(ComponentDescriptor d);
    // Case-insensitive match on the type or an alias.
    const ComponentDescriptor* find(ComponentKind kind, std::string_view type) const;
    // In registration order.
    std::vector<const ComponentDescriptor*> all(ComponentKind kind) const;
    // "known types: a, b, c"
    std::string known_types(ComponentKind kind) const;

private:
    std::vector<std::unique_ptr<ComponentDescriptor>> _descriptors;
};

// Keys every component of a kind accepts besides its own table (`type`,
// `channels`, `channel`, `selector.`, ...).
const std::vector<KeySpec>& common_keys(ComponentKind kind);

// The result of validation: components that will run, with their settings.
struct ValidatedComponent {
    const ComponentConfig* config = nullptr;
    const ComponentDescriptor* descriptor = nullptr;  // null for sink groups
    ComponentSettings settings;
};

struct Topology {
    AgentConfig config;  // owns what the pointers below point into
    std::vector<ValidatedComponent> sources, channels, sinks, sinkgroups, streams;
    const ValidatedComponent* find(ComponentKind k, const std::string& name) const;
};

// Applies the registry to a read configuration. Strict (the default): every
// problem is an error. Lenient (--lenient): components with errors are dropped
// with a warning, as Flume does, and the rest is kept. Either way every problem
// found is appended. Returns null when the agent cannot run (errors in strict
// mode; no channel or no source/sink left in lenient mode).
// `registry`: the component types known (embedders bring their own).
std::unique_ptr<Topology> validate_agent(AgentConfig config, bool lenient,
                                         std::vector<ConfigProblem>& problems,
                                         const Registry& registry = Registry::global());

// The topology as `sluice check` prints it: components, their resolved keys
// (defaults marked), and the flow source -> channel -> sink.
std::string describe_topology(const Topology& t);

// docs/configuration.md, generated from the registry.
std::string configuration_reference();

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word`, or empty if none is close (distance > 1/3 of length + 1).
std::string_view nearest(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace sluice
