// SPDX-License-Identifier: Apache-2.0
// The registry, the key tables' checks, and validate_agent(): everything that
// judges a configuration against what the registered components accept.
#include "core/registry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "core/assert.h"
#include "core/channel.h"
#include "core/interceptor.h"
#include "core/sink_processor.h"

namespace sluice {
namespace {

using Sev = ConfigProblem::Severity;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}


std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        out += v[i];
    }
    return out;
}

bool is_prefix_key(const KeySpec& k) { return !k.key.empty() && k.key.back() == '.'; }

// Decimal int64 with an optional sign; nullopt on anything else or overflow.
std::optional<int64_t> parse_int(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    if (s.empty() || s[0] == '+') return std::nullopt;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<double> parse_number(std::string_view s) {
    std::string t(trim(s));
    if (t.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

bool has_min(const KeySpec& k) { return k.min != INT64_MIN; }
bool has_max(const KeySpec& k) { return k.max != INT64_MAX; }

std::string range_text(const KeySpec& k) {
    if (has_min(k) && has_max(k))
        return "must be between " + std::to_string(k.min) + " and " + std::to_string(k.max);
    if (has_min(k)) return "must be at least " + std::to_string(k.min);
    return "must be at most " + std::to_string(k.max);
}

int64_t plain_unit_ms(KeyType t) { return t == KeyType::duration_s ? 1000 : 1; }

Status config_error(std::string msg) { return Status(errc::config, std::move(msg)); }

const std::vector<KeySpec> no_keys;

}  // namespace

// ---------------------------------------------------------------------------
// Values

Result<int64_t> parse_duration_ms(std::string_view text, int64_t plain_unit) {
    std::string_view s = trim(text);
    auto bad = [&] {
        return config_error("expected a duration such as 500ms, 10s, 5m or 1h, got '" + std::string(text) + "'");
    };
    if (!s.empty() && s[0] == '-') return config_error("must not be negative, got '" + std::string(text) + "'");
    size_t digits = 0;
    while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
    if (digits == 0) return bad();
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + digits, n);
    if (ec != std::errc() || p != s.data() + digits) return bad();
    std::string unit;
    for (char c : s.substr(digits)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int64_t mult;
    if (unit.empty()) mult = plain_unit;
    else if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60'000;
    else if (unit == "h") mult = 3'600'000;
    else if (unit == "d") mult = 86'400'000;
    else return bad();
    if (mult > 0 && n > INT64_MAX / mult) return bad();
    return n * mult;
}

Status check_value(const KeySpec& spec, std::string_view value) {
    const std::string v(value);
    switch (spec.type) {
    case KeyType::string:
    case KeyType::list:
    case KeyType::prefix:
        return Status::ok();
    case KeyType::boolean:
        // Flume's Boolean.parseBoolean reads any other text as false; a typo
        // there silently flips a setting, so sluice rejects it.
        if (iequals(trim(value), "true") || iequals(trim(value), "false")) return Status::ok();
        return config_error("expected true or false, got '" + v + "'");
    case KeyType::integer:
    case KeyType::bytes: {
        auto n = parse_int(value);
        if (!n) return config_error("expected an integer, got '" + v + "'");
        KeySpec bounded = spec;
        if (spec.type == KeyType::bytes && !has_min(spec)) bounded.min = 0;
        if ((has_min(bounded) && *n < bounded.min) || (has_max(bounded) && *n > bounded.max))
            return config_error(range_text(bounded) + ", got " + std::to_string(*n));
        return Status::ok();
    }
    case KeyType::number:
        if (!parse_number(value)) return config_error("expected a number, got '" + v + "'");
        return Status::ok();
    case KeyType::duration_ms:
    case KeyType::duration_s: {
        const int64_t unit = plain_unit_ms(spec.type);
        auto ms = parse_duration_ms(value, unit);
        if (!ms) return ms.status();
        // Bounds are in the key's unit; compare in milliseconds without overflow.
        const bool below = has_min(spec) && spec.min > 0 && spec.min <= INT64_MAX / unit &&
                           *ms < spec.min * unit;
        const bool above = has_max(spec) && spec.max >= 0 && spec.max <= INT64_MAX / unit && *ms > spec.max * unit;
        if (below || above) return config_error(range_text(spec) + ", got '" + v + "'");
        return Status::ok();
    }
    case KeyType::choice:
        for (auto c : spec.choices)
            if (iequals(trim(value), c)) return Status::ok();
        {
            std::string list;
            for (size_t i = 0; i < spec.choices.size(); ++i) {
                if (i) list += ", ";
                list += spec.choices[i];
            }
            return config_error("expected one of " + list + ", got '" + v + "'");
        }
    }
    return Status::ok();
}

// ---------------------------------------------------------------------------
// ComponentSettings

namespace {
const KeySpec* find_spec(const std::vector<KeySpec>& keys, std::string_view key) {
    for (const auto& k : keys)
        if (k.key == key) return &k;
    return nullptr;
}
}  // namespace

ComponentSettings::ComponentSettings(const ComponentConfig* config, const std::vector<KeySpec>* keys)
    : _config(config), _keys(keys ? keys : &no_keys) {}

const std::string& ComponentSettings::name() const { return _config->name; }

const KeySpec& ComponentSettings::spec(std::string_view key) const {
    const KeySpec* s = find_spec(*_keys, key);
    if (!s) s = find_spec(common_keys(_config->kind), key);
    SLUICE_ASSERT(s != nullptr, "ComponentSettings: asked for a key the component does not declare");
    return *s;
}

std::optional<std::string_view> ComponentSettings::raw(std::string_view key) const {
    const KeySpec& s = spec(key);
    if (auto it = _config->props.find(std::string(key)); it != _config->props.end()) return it->second.value;
    if (!s.default_value.empty()) return s.default_value;
    return std::nullopt;
}

bool ComponentSettings::has(std::string_view key) const {
    if (!key.empty() && key.back() == '.') {
        auto it = _config->props.lower_bound(std::string(key));
        return it != _config->props.end() && it->first.compare(0, key.size(), key) == 0;
    }
    return _config->props.count(std::string(key)) > 0;
}

std::string ComponentSettings::get_string(std::string_view key) const {
    auto v = raw(key);
    return v ? std::string(*v) : std::string();
}

int64_t ComponentSettings::get_int(std::string_view key) const {
    const KeySpec& s = spec(key);
    if (s.type == KeyType::duration_ms || s.type == KeyType::duration_s) return get_duration_ms(key);
    auto v = raw(key);
    if (!v) return 0;
    auto n = parse_int(*v);
    SLUICE_ASSERT(n.has_value(), "ComponentSettings::get_int on a value that did not pass validation");
    return *n;
}

bool ComponentSettings::get_bool(std::string_view key) const {
    auto v = raw(key);
    return v && iequals(trim(*v), "true");
}

double ComponentSettings::get_number(std::string_view key) const {
    auto v = raw(key);
    if (!v) return 0;
    auto n = parse_number(*v);
    SLUICE_ASSERT(n.has_value(), "ComponentSettings::get_number on a value that did not pass validation");
    return *n;
}

int64_t ComponentSettings::get_duration_ms(std::string_view key) const {
    const KeySpec& s = spec(key);
    auto v = raw(key);
    if (!v) return 0;
    auto ms = parse_duration_ms(*v, plain_unit_ms(s.type));
    SLUICE_ASSERT(ms.is_ok(), "ComponentSettings::get_duration_ms on a value that did not pass validation");
    return ms.value();
}

std::vector<std::string> ComponentSettings::get_list(std::string_view key) const {
    auto v = raw(key);
    return v ? split_list(*v) : std::vector<std::string>{};
}

std::vector<std::pair<std::string, std::string>> ComponentSettings::get_prefixed(std::string_view prefix) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = _config->props.lower_bound(std::string(prefix)); it != _config->props.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        out.emplace_back(it->first.substr(prefix.size()), it->second.value);
    }
    return out;
}

ComponentConfig sub_component(const ComponentConfig& c, std::string_view prefix, const std::string& name) {
    ComponentConfig sub;
    sub.kind = c.kind;
    sub.name = name;
    sub.key_prefix = c.key_prefix + std::string(prefix);
    sub.line = c.line;
    for (auto it = c.props.lower_bound(std::string(prefix)); it != c.props.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        sub.props.emplace(it->first.substr(prefix.size()), it->second);
    }
    if (auto it = sub.props.find("type"); it != sub.props.end()) sub.line = it->second.line;
    return sub;
}

const PartDescriptor* find_part(const std::vector<const PartDescriptor*>& parts, std::string_view type) {
    type = trim(type);
    for (const auto* d : parts) {
        if (iequals(d->type, type)) return d;
        for (auto a : d->aliases)
            if (iequals(a, type)) return d;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------
// Registry

Registry& Registry::global() {
    static Registry registry;
    return registry;
}

void Registry::add(ComponentDescriptor d) {
    SLUICE_ASSERT(find(d.kind, d.type) == nullptr, "component type registered twice");
    for (auto a : d.aliases) SLUICE_ASSERT(find(d.kind, a) == nullptr, "component alias registered twice");
    _descriptors.push_back(std::make_unique<ComponentDescriptor>(std::move(d)));
}

const ComponentDescriptor* Registry::find(ComponentKind kind, std::string_view type) const {
    type = trim(type);
    for (const auto& d : _descriptors) {
        if (d->kind != kind) continue;
        if (iequals(d->type, type)) return d.get();
        for (auto a : d->aliases)
            if (iequals(a, type)) return d.get();
    }
    return nullptr;
}

std::vector<const ComponentDescriptor*> Registry::all(ComponentKind kind) const {
    std::vector<const ComponentDescriptor*> out;
    for (const auto& d : _descriptors)
        if (d->kind == kind) out.push_back(d.get());
    return out;
}

std::string Registry::known_types(ComponentKind kind) const {
    std::string out = "known types: ";
    bool first = true;
    for (const auto* d : all(kind)) {
        if (!first) out += ", ";
        out += d->type;
        first = false;
    }
    if (first) out += "(none)";
    return out;
}

namespace {
// GCC 12 warns (-Wmissing-field-initializers) on designated initializers that
// leave fields out, so key tables here are built with this helper.
KeySpec key_spec(std::string_view key, KeyType type, std::string_view default_value, bool required,
                 std::string_view description) {
    KeySpec k;
    k.key = key;
    k.type = type;
    k.default_value = default_value;
    k.required = required;
    k.description = description;
    return k;
}
}  // namespace

const std::vector<KeySpec>& common_keys(ComponentKind kind) {
    static const std::vector<KeySpec> source = {
        key_spec("type", KeyType::string, "", true, "the source type (a short name or a Flume class name)"),
        key_spec("channels", KeyType::list, "", true, "channels the source puts events into (space-separated)"),
        key_spec("selector.", KeyType::prefix, "", false,
                 "channel selector: selector.type = replicating | multiplexing | load_balancing, and its keys"),
        key_spec("interceptors", KeyType::list, "", false, "interceptor names, applied in this order"),
        key_spec("interceptors.", KeyType::prefix, "", false, "interceptors.<name>.type and the interceptor's keys"),
    };
    static const std::vector<KeySpec> channel = {
        key_spec("type", KeyType::string, "", true, "the channel type (a short name or a Flume class name)"),
    };
    static const std::vector<KeySpec> sink = {
        key_spec("type", KeyType::string, "", true, "the sink type (a short name or a Flume class name)"),
        key_spec("channel", KeyType::string, "", true, "the one channel the sink takes events from"),
    };
    static const std::vector<KeySpec> sinkgroup = {
        key_spec("sinks", KeyType::list, "", true, "sinks of the group (space-separated); a sink belongs to one group"),
        key_spec("processor.", KeyType::prefix, "", false,
                 "sink processor: processor.type = default | failover | load_balance, and its keys"),
    };
    // The stream layer (operators/) checks the pipeline and times in depth
    // through the stream descriptor's check hook.
    static const std::vector<KeySpec> stream = {
        key_spec("channel", KeyType::string, "", true, "the channel the stream takes events from"),
        key_spec("channels", KeyType::list, "", true, "channels the results are put into (space-separated)"),
        key_spec("batch", KeyType::string, "1s", false, "batch interval (500ms, 1s, ...)"),
        key_spec("ops", KeyType::string, "", true, "the pipeline: operators joined by | (docs/streams.md)"),
        key_spec("time", KeyType::string, "processing", false, "processing or event"),
        key_spec("time.header", KeyType::string, "timestamp", false, "event-time header (epoch ms)"),
        key_spec("watermark", KeyType::string, "0s", false, "allowed lateness in event time"),
        key_spec("format", KeyType::string, "tsv", false, "result body format: tsv or json"),
    };
    switch (kind) {
    case ComponentKind::source: return source;
    case ComponentKind::channel: return channel;
    case ComponentKind::sink: return sink;
    case ComponentKind::sinkgroup: return sinkgroup;
    case ComponentKind::stream: return stream;
    }
    return source;
}

const ValidatedComponent* Topology::find(ComponentKind k, const std::string& name) const {
    const std::vector<ValidatedComponent>* v = nullptr;
    switch (k) {
    case ComponentKind::source: v = &sources; break;
    case ComponentKind::channel: v = &channels; break;
    case ComponentKind::sink: v = &sinks; break;
    case ComponentKind::sinkgroup: v = &sinkgroups; break;
    case ComponentKind::stream: v = &streams; break;
    }
    for (const auto& c : *v)
        if (c.config->name == name) return &c;
    return nullptr;
}

// ---------------------------------------------------------------------------
// Validation

namespace {

constexpr ComponentKind all_kinds[] = {ComponentKind::source, ComponentKind::channel, ComponentKind::sink,
                                       ComponentKind::sinkgroup, ComponentKind::stream};

struct comp_state {
    ComponentConfig* config = nullptr;
    const ComponentDescriptor* descriptor = nullptr;
    bool broken = false;     // has an error that drops it (lenient) / fails the run (strict)
    bool values_ok = true;   // every value passed check_value, so the getters are safe
    bool connected = false;  // channels: something valid reads or writes it
};

class validator {
public:
    validator(AgentConfig& cfg, bool lenient, std::vector<ConfigProblem>& problems, const Registry& registry)
        : _cfg(cfg), _lenient(lenient), _problems(problems), _registry(registry) {
        for (auto k : all_kinds)
            for (auto& c : cfg.of(k)) _states[static_cast<int>(k)].push_back(comp_state{&c});
    }

    std::vector<comp_state>& states(ComponentKind k) { return _states[static_cast<int>(k)]; }

    comp_state* state(ComponentKind k, const std::string& name) {
        for (auto& s : states(k))
            if (s.config->name == name) return &s;
        return nullptr;
    }

    // Appends a problem unless the same one is already there (reading reports
    // a missing `type` too). An error owned by a component is a warning in
    // lenient mode; `breaking` errors drop their owner.
    void report(Sev sev, comp_state* owner, bool breaking, int line, std::string key, std::string message) {
        if (owner && breaking && sev == Sev::error) owner->broken = true;
        for (const auto& p : _problems)
            if (p.file == _cfg.file && p.line == line && p.key == key && p.message == message) return;
        if (sev == Sev::error && owner && _lenient) sev = Sev::warning;
        _problems.push_back(ConfigProblem{sev, _cfg.file, line, std::move(key), std::move(message)});
    }

    void check_component(comp_state& s);
    void check_supported(comp_state& s);
    // Keys under `prefix` against a part's table; returns whether every value passed.
    bool check_part(comp_state& s, const std::string& prefix, const PartDescriptor& d);
    void check_selector(comp_state& s);
    void check_interceptors(comp_state& s);
    void check_processor(comp_state& s);
    void check_bindings();
    void check_shared_directories();
    void check_batch(comp_state& s, comp_state& channel);
    bool alive(const comp_state& s) const { return !(_lenient && s.broken); }

private:
    AgentConfig& _cfg;
    bool _lenient;
    std::vector<ConfigProblem>& _problems;
    const Registry& _registry;
    std::vector<comp_state> _states[5];
};

const KeySpec* lookup_key(const std::string& key, const std::vector<KeySpec>& common,
                          const std::vector<KeySpec>* own) {
    if (auto* s = find_spec(common, key)) return s;
    if (own)
        if (auto* s = find_spec(*own, key)) return s;
    for (const auto* table : {&common, own}) {
        if (!table) continue;
        for (const auto& s : *table)
            if (is_prefix_key(s) && key.size() > s.key.size() && key.compare(0, s.key.size(), s.key) == 0)
                return &s;
    }
    return nullptr;
}

void validator::check_component(comp_state& s) {
    ComponentConfig& c = *s.config;
    const ComponentKind kind = c.kind;
    const auto& common = common_keys(kind);
    const bool typed = kind == ComponentKind::source || kind == ComponentKind::channel || kind == ComponentKind::sink;
    if (typed) {
        if (const auto* type = c.find("type")) {
            s.descriptor = _registry.find(kind, type->value);
            if (!s.descriptor)
                report(Sev::error, &s, true, type->line, c.full_key("type"),
                       "unknown " + std::string(kind_name(kind)) + " type '" + type->value + "'; " +
                           _registry.known_types(kind));
        }
    }
    const std::vector<KeySpec>* own = s.descriptor ? &s.descriptor->keys : nullptr;
    // Keys can only be judged unknown when the key table is known.
    const bool table_known = !typed || s.descriptor != nullptr;

    std::vector<std::string> candidates;
    for (const auto* table : {&common, own}) {
        if (!table) continue;
        for (const auto& k : *table) candidates.emplace_back(k.key);
    }

    bool wrong_binding_key = false;
    for (const auto& [key, value] : c.props) {
        const KeySpec* spec = lookup_key(key, common, own);
        if (!spec) {
            if (kind == ComponentKind::source && key == "channel") {
                report(Sev::error, &s, true, value.line, c.full_key(key), "sources bind with 'channels' (plural)");
                wrong_binding_key = true;
            } else if (kind == ComponentKind::sink && key == "channels") {
                report(Sev::error, &s, true, value.line, c.full_key(key), "sinks bind with 'channel' (singular)");
                wrong_binding_key = true;
            } else if (table_known) {
                // Suggest from plain keys, and from prefix keys completed with
                // the rest of what was written ("selecter.type" -> "selector.type").
                std::vector<std::string> options;
                for (const auto& cand : candidates) {
                    if (!cand.empty() && cand.back() == '.') {
                        auto dot = key.find('.');
                        if (dot != std::string::npos) options.push_back(cand + key.substr(dot + 1));
                    } else {
                        options.push_back(cand);
                    }
                }
                std::vector<std::string_view> views(options.begin(), options.end());
                std::string msg = "unknown key '" + key + "'";
                auto hint = nearest(key, views);
                if (!hint.empty()) msg += " (did you mean '" + std::string(hint) + "'?)";
                msg += "; ignored";
                report(Sev::warning, &s, false, value.line, c.full_key(key), std::move(msg));
            }
            continue;
        }
        if (spec->type == KeyType::prefix) continue;
        if (Status st = check_value(*spec, value.value); !st) {
            report(Sev::error, &s, true, value.line, c.full_key(key), st.message());
            s.values_ok = false;
        }
    }

    for (const auto* table : {&common, own}) {
        if (!table) continue;
        for (const auto& spec : *table) {
            if (!spec.required || is_prefix_key(spec)) continue;
            if (c.props.count(std::string(spec.key))) continue;
            if (wrong_binding_key && (spec.key == "channels" || spec.key == "channel")) continue;
            report(Sev::error, &s, true, c.line, c.full_key(std::string(spec.key)), "required key is missing");
        }
    }

    if (s.descriptor && s.descriptor->check && !s.broken && s.values_ok) {
        std::vector<std::pair<std::string, std::string>> found;
        ComponentSettings settings(&c, &s.descriptor->keys);
        s.descriptor->check(settings, found);
        for (auto& [key, message] : found) {
            const auto* v = c.find(key);
            report(Sev::error, &s, true, v ? v->line : c.line, c.full_key(key), std::move(message));
        }
    }
}

// The parts of sources (interceptors, selector) and sink groups (processor):
// their types and keys, as for components. Flume features that this build
// does not run would be errors here, never silently ignored.
void validator::check_supported(comp_state& s) {
    ComponentConfig& c = *s.config;
    auto unsupported = [&](const std::string& key, int line, std::string message) {
        report(Sev::error, &s, true, line, c.full_key(key), std::move(message));
    };
    if (c.kind == ComponentKind::source) {
        check_selector(s);
        check_interceptors(s);
    } else if (c.kind == ComponentKind::sinkgroup) {
        check_processor(s);
    } else if (c.kind == ComponentKind::stream) {
        s.descriptor = _registry.find(ComponentKind::stream, "stream");
        if (!s.descriptor) {
            unsupported("ops", c.line, "streams are not available in this build");
        } else if (s.descriptor->check && !s.broken && s.values_ok) {
            std::vector<std::pair<std::string, std::string>> found;
            s.descriptor->check(ComponentSettings(&c, &s.descriptor->keys), found);
            for (auto& [key, message] : found) {
                const auto* v = c.find(key);
                report(Sev::error, &s, true, v ? v->line : c.line, c.full_key(key), std::move(message));
            }
        }
    }
}

bool validator::check_part(comp_state& s, const std::string& prefix, const PartDescriptor& d) {
    ComponentConfig& c = *s.config;
    bool values_ok = true;
    std::vector<std::string_view> names;
    for (const auto& k : d.keys) names.push_back(k.key);
    for (auto it = c.props.lower_bound(prefix); it != c.props.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        const std::string rel = it->first.substr(prefix.size());
        if (rel == "type") continue;
        const KeySpec* spec = lookup_key(rel, no_keys, &d.keys);
        if (!spec) {
            std::string msg = "unknown key '" + rel + "' for " + std::string(d.type);
            auto hint = nearest(rel, names);
            if (!hint.empty()) msg += " (did you mean '" + prefix + std::string(hint) + "'?)";
            if (names.empty()) msg += " (it takes no keys)";
            report(Sev::warning, &s, false, it->second.line, c.full_key(it->first), msg + "; ignored");
            continue;
        }
        if (spec->type == KeyType::prefix) continue;
        if (Status st = check_value(*spec, it->second.value); !st) {
            report(Sev::error, &s, true, it->second.line, c.full_key(it->first), st.message());
            values_ok = false;
        }
    }
    ComponentConfig sub = sub_component(c, prefix, c.name);
    for (const auto& spec : d.keys) {
        if (!spec.required || is_prefix_key(spec) || sub.props.count(std::string(spec.key))) continue;
        report(Sev::error, &s, true, sub.line, c.full_key(prefix + std::string(spec.key)),
               "required key is missing for " + std::string(d.type));
        values_ok = false;
    }
    if (values_ok && d.check) {
        std::vector<std::pair<std::string, std::string>> found;
        d.check(ComponentSettings(&sub, &d.keys), found);
        for (auto& [key, message] : found) {
            const auto* v = sub.find(key);
            report(Sev::error, &s, true, v ? v->line : sub.line, c.full_key(prefix + key), std::move(message));
            values_ok = false;
        }
    }
    return values_ok;
}

namespace {
std::string part_names(const std::vector<const PartDescriptor*>& parts) {
    std::string out;
    for (const auto* p : parts) out += (out.empty() ? "" : ", ") + std::string(p->type);
    return out;
}
}  // namespace

void validator::check_selector(comp_state& s) {
    ComponentConfig& c = *s.config;
    const auto* type = c.find("selector.type");
    const PartDescriptor* d = find_part(selector_types(), type ? type->value : "replicating");
    if (!d) {
        report(Sev::error, &s, true, type->line, c.full_key("selector.type"),
               "unknown channel selector '" + type->value + "'; known: " + part_names(selector_types()));
        return;
    }
    if (!check_part(s, "selector.", *d)) return;
    const auto* channels = c.find("channels");
    const std::vector<std::string> own = channels ? split_list(channels->value) : std::vector<std::string>{};
    // Every channel a selector names must be one of the source's (Flume:
    // "Selector channel not found").
    // Flume drops a multiplexing source over it; a replicating one runs,
    // ignoring the name (lenient mode does the same).
    const bool breaking = d->type != "replicating";
    auto check_list = [&](const std::string& key, bool must_have_one) {
        const auto* v = c.find(key);
        if (!v) return;
        auto names = split_list(v->value);
        for (const auto& n : names)
            if (std::find(own.begin(), own.end(), n) == own.end())
                report(Sev::error, &s, breaking, v->line, c.full_key(key),
                       "channel '" + n + "' is not one of the source's channels (" + (channels ? channels->value : "") + ")");
        if (must_have_one && names.empty())
            report(Sev::error, &s, true, v->line, c.full_key(key), "no channel configured for this header value");
    };
    if (d->type == "replicating") {
        check_list("selector.optional", false);
    } else if (d->type == "multiplexing") {
        check_list("selector.default", false);
        for (const auto& [k, v] : c.props) {
            if (k.rfind("selector.mapping.", 0) == 0) check_list(k, true);
            else if (k.rfind("selector.optional.", 0) == 0) check_list(k, false);
        }
    }
    if (d->type != "replicating" && own.size() > 64)
        report(Sev::error, &s, true, channels->line, c.full_key("channels"),
               "a source with the " + std::string(d->type) + " selector takes at most 64 channels");
}

void validator::check_interceptors(comp_state& s) {
    ComponentConfig& c = *s.config;
    const auto* list = c.find("interceptors");
    if (!list) return;
    std::set<std::string> seen;
    for (const auto& name : split_list(list->value)) {
        if (!seen.insert(name).second) {
            report(Sev::warning, &s, false, list->line, c.full_key("interceptors"),
                   "interceptor '" + name + "' is listed twice; it runs twice");
            continue;
        }
        const std::string prefix = "interceptors." + name + ".";
        const auto* type = c.find(prefix + "type");
        if (!type) {
            report(Sev::error, &s, true, list->line, c.full_key(prefix + "type"),
                   "required key is missing: the type of interceptor '" + name + "'");
            continue;
        }
        const InterceptorType* t = find_interceptor_type(type->value);
        if (!t) {
            std::string known;
            for (const auto& it : interceptor_types()) known += (known.empty() ? "" : ", ") + std::string(it.part.type);
            report(Sev::error, &s, true, type->line, c.full_key(prefix + "type"),
                   "unknown interceptor type '" + type->value + "'; known: " + known);
            continue;
        }
        check_part(s, prefix, t->part);
    }
}

void validator::check_processor(comp_state& g) {
    ComponentConfig& c = *g.config;
    const auto* type = c.find("processor.type");
    const PartDescriptor* d = find_part(sink_processor_types(), type ? type->value : "default");
    if (!d) {
        report(Sev::error, &g, true, type->line, c.full_key("processor.type"),
               "unknown sink processor '" + type->value + "'; known: " + part_names(sink_processor_types()));
        return;
    }
    if (!check_part(g, "processor.", *d)) return;
    const auto* sinks_value = c.find("sinks");
    const std::vector<std::string> sinks = sinks_value ? split_list(sinks_value->value) : std::vector<std::string>{};
    if (d->type == "load_balance" && sinks_value && sinks.size() < 2)
        report(Sev::error, &g, true, sinks_value->line, c.full_key("sinks"),
               "the load_balance sink processor cannot be used for a single sink; configure more than one sink");
    if (d->type != "failover") return;
    std::vector<std::pair<std::string, std::string>> priority_keys;
    for (const auto& [k, v] : c.props) {
        if (k.rfind("processor.priority.", 0) != 0) continue;
        const std::string sink = k.substr(19);
        if (std::find(sinks.begin(), sinks.end(), sink) == sinks.end())
            report(Sev::warning, &g, false, v.line, c.full_key(k), "sink '" + sink + "' is not in this group; ignored");
        if (!parse_int(v.value) || *parse_int(v.value) < INT32_MIN || *parse_int(v.value) > INT32_MAX) {
            report(Sev::error, &g, true, v.line, c.full_key(k), "expected an integer priority, got '" + v.value + "'");
            continue;
        }
        priority_keys.emplace_back(k.substr(10), std::to_string(*parse_int(v.value)));
    }
    auto prio = failover_priorities(sinks, priority_keys);
    for (size_t i : prio.duplicates) {
        const auto* v = c.find("processor.priority." + sinks[i]);
        report(Sev::error, &g, false, v ? v->line : sinks_value->line,
               c.full_key(v ? "processor.priority." + sinks[i] : "sinks"),
               "sink '" + sinks[i] + "' has the priority of another sink of the group; it is left out of the group "
               "and does not run (as in Flume)");
    }
}

namespace {
// A directory as written, made comparable: "~/" expanded, "." and ".."
// resolved lexically, no trailing slash.
std::string comparable_directory(std::string_view dir) {
    std::string d(trim(dir));
    if (d.rfind("~/", 0) == 0) {
        const char* home = std::getenv("HOME");
        d = std::string(home ? home : "") + d.substr(1);
    }
    std::string out = std::filesystem::path(d).lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}
}  // namespace

void validator::check_shared_directories() {
    struct owner {
        const comp_state* component;
        std::string key;
        int line;
    };
    std::map<std::string, owner> owners;
    for (auto k : all_kinds) {
        for (auto& s : states(k)) {
            // Channels nothing uses are removed, and never started.
            if (!s.descriptor || !s.values_ok || !alive(s) || (k == ComponentKind::channel && !s.connected)) continue;
            if (s.descriptor->uses_directories &&
                !s.descriptor->uses_directories(ComponentSettings(s.config, &s.descriptor->keys)))
                continue;
            for (const auto& spec : s.descriptor->keys) {
                if (!spec.owns_directories) continue;
                const std::string key(spec.key);
                const auto* v = s.config->find(key);
                const std::string value = v ? v->value : std::string(spec.default_value);
                const int line = v ? v->line : s.config->line;
                size_t start = 0;
                while (start <= value.size()) {
                    size_t comma = value.find(',', start);
                    if (comma == std::string::npos) comma = value.size();
                    std::string dir = comparable_directory(std::string_view(value).substr(start, comma - start));
                    start = comma + 1;
                    if (dir.empty()) continue;
                    auto [it, fresh] = owners.emplace(dir, owner{&s, s.config->full_key(key), line});
                    // One component may name a directory twice (its checkpoints beside its data).
                    if (fresh || it->second.component == &s) continue;
                    const owner& first = it->second;
                    report(Sev::error, &s, true, line, s.config->full_key(key),
                           "directory " + dir + (v ? "" : " (the default)") + " is also used by " + first.key +
                               (first.line > 0 ? " (line " + std::to_string(first.line) + ")" : "") +
                               "; two " + std::string(kind_plural(k)) + " cannot share a directory (the second "
                               "could not lock it)");
                }
            }
        }
    }
}

void validator::check_batch(comp_state& s, comp_state& channel) {
    const auto* d = s.descriptor;
    const auto* cd = channel.descriptor;
    if (!d || d->batch_size_key.empty() || !cd || !s.values_ok || !channel.values_ok) return;
    if (!find_spec(d->keys, d->batch_size_key) || !find_spec(cd->keys, "transactionCapacity")) return;
    const int64_t batch = ComponentSettings(s.config, &d->keys).get_int(d->batch_size_key);
    const int64_t capacity = ComponentSettings(channel.config, &cd->keys).get_int("transactionCapacity");
    if (batch <= capacity) return;
    const std::string key(d->batch_size_key);
    const auto* v = s.config->find(key);
    report(Sev::error, &s, true, v ? v->line : s.config->line, s.config->full_key(key),
           "batch size " + std::to_string(batch) + " exceeds transactionCapacity " + std::to_string(capacity) +
               " of channel '" + channel.config->name + "'");
}

void validator::check_bindings() {
    // Channels named by a writer (source, stream output): unknown names are
    // errors, but as in Flume the writer survives (lenient) while one remains.
    auto bind_writer = [&](comp_state& s, const std::string& key, bool batch) {
        auto it = s.config->props.find(key);
        if (it == s.config->props.end()) return;
        ConfigValue* v = &it->second;
        std::vector<std::string> kept;
        std::set<std::string> seen;
        for (const auto& name : split_list(v->value)) {
            if (!seen.insert(name).second) {
                report(Sev::warning, &s, false, v->line, s.config->full_key(key),
                       "channel '" + name + "' is listed twice");
                continue;
            }
            comp_state* ch = state(ComponentKind::channel, name);
            if (!ch) {
                report(Sev::error, &s, false, v->line, s.config->full_key(key), "unknown channel '" + name + "'");
                continue;
            }
            if (!alive(*ch)) {
                report(Sev::warning, &s, false, v->line, s.config->full_key(key),
                       "channel '" + name + "' is removed; dropped from this list");
                continue;
            }
            if (batch) check_batch(s, *ch);
            kept.push_back(name);
        }
        if (kept.empty()) s.broken = true;
        if (alive(s))
            for (const auto& name : kept) state(ComponentKind::channel, name)->connected = true;
        v->value = join(kept, " ");
    };
    // The one channel of a reader (sink, stream input).
    auto bind_reader = [&](comp_state& s, const std::string& key, bool batch) {
        auto* v = s.config->find(key);
        if (!v) return;
        auto names = split_list(v->value);
        if (names.size() != 1) {
            report(Sev::error, &s, true, v->line, s.config->full_key(key),
                   "a " + std::string(kind_name(s.config->kind)) + " takes from exactly one channel, got '" +
                       v->value + "'");
            return;
        }
        comp_state* ch = state(ComponentKind::channel, names[0]);
        if (!ch) {
            report(Sev::error, &s, true, v->line, s.config->full_key(key), "unknown channel '" + names[0] + "'");
            return;
        }
        if (!alive(*ch)) {
            report(Sev::warning, &s, false, v->line, s.config->full_key(key),
                   "channel '" + names[0] + "' is removed");
            s.broken = true;
            return;
        }
        if (batch) check_batch(s, *ch);
        if (alive(s)) ch->connected = true;
    };

    for (auto& s : states(ComponentKind::source)) bind_writer(s, "channels", true);
    for (auto& s : states(ComponentKind::sink)) bind_reader(s, "channel", true);
    for (auto& s : states(ComponentKind::stream)) {
        bind_reader(s, "channel", false);
        if (s.config->find("channels")) bind_writer(s, "channels", false);
    }

    std::map<std::string, std::string> group_of;
    for (auto& g : states(ComponentKind::sinkgroup)) {
        auto it = g.config->props.find("sinks");
        if (it == g.config->props.end()) continue;
        ConfigValue* v = &it->second;
        const std::string key = g.config->full_key("sinks");
        std::vector<std::string> kept;
        for (const auto& name : split_list(v->value)) {
            comp_state* sink = state(ComponentKind::sink, name);
            if (!sink) {
                report(Sev::error, &g, false, v->line, key, "unknown sink '" + name + "'");
                continue;
            }
            if (auto it = group_of.find(name); it != group_of.end()) {
                report(Sev::warning, &g, false, v->line, key,
                       it->second == g.config->name
                           ? "sink '" + name + "' is listed twice"
                           : "sink '" + name + "' is already in sink group '" + it->second + "'; kept there");
                continue;
            }
            group_of[name] = g.config->name;
            if (!alive(*sink)) {
                report(Sev::warning, &g, false, v->line, key, "sink '" + name + "' is removed; dropped from the group");
                continue;
            }
            kept.push_back(name);
        }
        if (kept.empty()) {
            report(Sev::warning, &g, false, v->line, key,
                   "no sinks left; sink group '" + g.config->name + "' is removed");
            g.broken = true;
        }
        v->value = join(kept, " ");
    }
}

}  // namespace

std::unique_ptr<Topology> validate_agent(AgentConfig config, bool lenient, std::vector<ConfigProblem>& problems,
                                         const Registry& registry) {
    auto topo = std::make_unique<Topology>();
    topo->config = std::move(config);
    AgentConfig& cfg = topo->config;
    const std::string agent_prefix = cfg.agent + ".";

    auto finish = [&](bool ok) -> std::unique_ptr<Topology> {
        // File order; line-0 problems (whole file, command line) first.
        std::stable_sort(problems.begin(), problems.end(),
                         [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
        return ok ? std::move(topo) : nullptr;
    };

    // Reading found nothing to run (no file, no keys for the agent): no
    // follow-on problems.
    for (const auto& p : problems)
        if (p.severity == Sev::error && p.file == cfg.file && p.line == 0 && (p.key.empty() || p.key == cfg.agent))
            return finish(false);

    // Problems reading found about single properties are dropped properties:
    // in lenient mode they are warnings, as in Flume.
    if (lenient)
        for (auto& p : problems)
            if (p.file == cfg.file && p.key.compare(0, agent_prefix.size(), agent_prefix) == 0)
                p.severity = Sev::warning;

    validator v(cfg, lenient, problems, registry);
    for (auto k : all_kinds)
        for (auto& s : v.states(k)) {
            v.check_component(s);
            v.check_supported(s);
        }
    v.check_bindings();
    v.check_shared_directories();

    for (auto& ch : v.states(ComponentKind::channel)) {
        if (!v.alive(ch) || ch.connected) continue;
        const std::string& prefix = ch.config->key_prefix;
        v.report(Sev::warning, nullptr, false, ch.config->line, prefix.substr(0, prefix.size() - 1),
                 "channel '" + ch.config->name + "' has no components connected and is removed");
    }
    if (lenient) {
        for (auto k : all_kinds)
            for (auto& s : v.states(k))
                if (s.broken)
                    v.report(Sev::warning, nullptr, false, s.config->line,
                             s.config->key_prefix.substr(0, s.config->key_prefix.size() - 1),
                             std::string(kind_name(k)) + " '" + s.config->name +
                                 "' is removed because of the problems reported for it");
    }

    auto count = [&](ComponentKind k) {
        size_t n = 0;
        for (auto& s : v.states(k))
            if (v.alive(s) && (k != ComponentKind::channel || s.connected)) ++n;
        return n;
    };
    if (count(ComponentKind::channel) == 0)
        v.report(Sev::error, nullptr, false, 0, cfg.agent, "agent '" + cfg.agent + "' has no valid channel");
    if (count(ComponentKind::source) == 0 && count(ComponentKind::sink) == 0 && count(ComponentKind::stream) == 0)
        v.report(Sev::error, nullptr, false, 0, cfg.agent, "agent '" + cfg.agent + "' has no valid source or sink");

    for (const auto& p : problems)
        if (p.severity == Sev::error) return finish(false);

    for (auto k : all_kinds) {
        std::vector<ValidatedComponent>* out = nullptr;
        switch (k) {
        case ComponentKind::source: out = &topo->sources; break;
        case ComponentKind::channel: out = &topo->channels; break;
        case ComponentKind::sink: out = &topo->sinks; break;
        case ComponentKind::sinkgroup: out = &topo->sinkgroups; break;
        case ComponentKind::stream: out = &topo->streams; break;
        }
        for (auto& s : v.states(k)) {
            if (s.broken || (k == ComponentKind::channel && !s.connected)) continue;
            out->push_back(ValidatedComponent{
                s.config, s.descriptor, ComponentSettings(s.config, s.descriptor ? &s.descriptor->keys : nullptr)});
        }
    }
    return finish(true);
}

// ---------------------------------------------------------------------------
// Text

namespace {

std::string type_text(const KeySpec& k) {
    std::string t;
    switch (k.type) {
    case KeyType::string: t = "string"; break;
    case KeyType::integer: t = "integer"; break;
    case KeyType::boolean: t = "boolean"; break;
    case KeyType::number: t = "number"; break;
    case KeyType::duration_ms: t = "duration (plain number: ms)"; break;
    case KeyType::duration_s: t = "duration (plain number: s)"; break;
    case KeyType::bytes: t = "bytes"; break;
    case KeyType::list: t = "list"; break;
    case KeyType::prefix: t = "prefix"; break;
    case KeyType::choice: {
        t = "one of ";
        for (size_t i = 0; i < k.choices.size(); ++i) {
            if (i) t += ", ";
            t += "`" + std::string(k.choices[i]) + "`";
        }
        break;
    }
    }
    if (k.type == KeyType::integer || k.type == KeyType::bytes || k.type == KeyType::duration_ms ||
        k.type == KeyType::duration_s) {
        if (has_min(k) && has_max(k)) t += " " + std::to_string(k.min) + "–" + std::to_string(k.max);
        else if (has_min(k)) t += " ≥ " + std::to_string(k.min);
        else if (has_max(k)) t += " ≤ " + std::to_string(k.max);
    }
    return t;
}

std::string cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

void key_table(std::string& out, const std::vector<KeySpec>& keys) {
    out += "| key | type | default | required | description |\n";
    out += "|---|---|---|---|---|\n";
    for (const auto& k : keys) {
        std::string key = is_prefix_key(k) ? std::string(k.key) + "*" : std::string(k.key);
        out += "| `" + cell(key) + "` | " + cell(type_text(k)) + " | ";
        out += k.default_value.empty() ? std::string() : "`" + cell(k.default_value) + "`";
        out += " | ";
        out += k.required ? "yes" : "";
        out += " | " + cell(k.description);
        if (!k.differs_from_flume.empty()) out += " **Differs from Flume:** " + cell(k.differs_from_flume);
        out += " |\n";
    }
}

}  // namespace

std::string describe_topology(const Topology& t) {
    std::string out = "agent " + t.config.agent;
    if (!t.config.file.empty()) out += " (" + t.config.file + ")";
    out += "\n";

    auto describe = [&](const ValidatedComponent& vc) {
        const ComponentConfig& c = *vc.config;
        out += "  " + std::string(kind_name(c.kind)) + " " + c.name;
        if (vc.descriptor) out += " (" + std::string(vc.descriptor->type) + ")";
        out += "\n";
        std::set<std::string> shown = {"type"};
        auto line = [&](const std::string& k, std::string_view value, bool dflt) {
            out += "    " + k + " = " + std::string(value) + (dflt ? " (default)" : "") + "\n";
        };
        for (const auto* table : {&common_keys(c.kind), vc.descriptor ? &vc.descriptor->keys : nullptr}) {
            if (!table) continue;
            for (const auto& spec : *table) {
                std::string k(spec.key);
                if (shown.count(k)) continue;
                if (is_prefix_key(spec)) {
                    for (auto it = c.props.lower_bound(k);
                         it != c.props.end() && it->first.compare(0, k.size(), k) == 0; ++it)
                        if (shown.insert(it->first).second) line(it->first, it->second.value, false);
                    continue;
                }
                shown.insert(k);
                if (const auto* v = c.find(k)) line(k, v->value, false);
                else if (!spec.default_value.empty()) line(k, spec.default_value, true);
            }
        }
        for (const auto& [k, v] : c.props)
            if (!shown.count(k)) out += "    " + k + " = " + v.value + " (unknown key, ignored)\n";
    };
    for (const auto* list : {&t.sources, &t.channels, &t.sinks, &t.sinkgroups, &t.streams})
        for (const auto& vc : *list) describe(vc);

    // Flow: for each channel, every writer -> channel -> every reader.
    out += "  flow\n";
    for (const auto& ch : t.channels) {
        const std::string& name = ch.config->name;
        std::vector<std::string> writers, readers;
        for (const auto& s : t.sources)
            for (const auto& n : split_list(s.config->find("channels")->value))
                if (n == name) writers.push_back(s.config->name);
        for (const auto& s : t.streams) {
            if (const auto* v = s.config->find("channels"))
                for (const auto& n : split_list(v->value))
                    if (n == name) writers.push_back(s.config->name + " (stream)");
            if (const auto* v = s.config->find("channel"); v && trim(v->value) == name)
                readers.push_back(s.config->name + " (stream)");
        }
        for (const auto& s : t.sinks)
            if (trim(s.config->find("channel")->value) == name) readers.push_back(s.config->name);
        if (writers.empty()) writers.push_back("");
        if (readers.empty()) readers.push_back("");
        for (const auto& w : writers)
            for (const auto& r : readers)
                out += "    " + (w.empty() ? "" : w + " -> ") + name + (r.empty() ? "" : " -> " + r) + "\n";
    }
    return out;
}

std::string configuration_reference() {
    std::string out;
    out += "# sluice configuration reference\n\n";
    out += "Generated from the component registry (`sluice config-reference`); do not edit by hand.\n\n";
    out += "sluice reads Flume's properties format: `<agent>.sources`, `<agent>.channels`, `<agent>.sinks`, "
           "`<agent>.sinkgroups` (and sluice's `<agent>.streams`) list component names, and "
           "`<agent>.<kind>.<name>.<key>` sets a component's keys. Key names and defaults are Flume's unless a "
           "key says it differs. Values may use `${env:NAME}` (an environment variable; unset is an error) and "
           "`${other.key}` (another key of the same file); `$${` is a literal `${`. "
           "`-Dkey=value` on the command line overrides a key of the file. Type names are matched "
           "case-insensitively against the short name or an alias (Flume class names).\n\n";

    struct section {
        ComponentKind kind;
        const char* title;
    };
    const section common[] = {{ComponentKind::source, "Sources"},
                              {ComponentKind::channel, "Channels"},
                              {ComponentKind::sink, "Sinks"},
                              {ComponentKind::sinkgroup, "Sink groups"},
                              {ComponentKind::stream, "Streams"}};
    out += "## Common keys\n\nEvery component of a kind accepts these besides the keys of its type. "
           "A key ending in `*` is a prefix: every key under it is passed through.\n\n";
    for (const auto& s : common) {
        out += "### " + std::string(s.title) + "\n\n";
        key_table(out, common_keys(s.kind));
        out += "\n";
    }
    for (const auto& s : common) {
        if (s.kind == ComponentKind::sinkgroup || s.kind == ComponentKind::stream) continue;
        out += "## " + std::string(s.title) + "\n\n";
        for (const auto* d : Registry::global().all(s.kind)) {
            out += "### " + std::string(d->type) + "\n\n";
            if (!d->description.empty()) out += std::string(d->description) + "\n\n";
            if (!d->aliases.empty()) {
                out += "Aliases:";
                for (auto a : d->aliases) out += " `" + std::string(a) + "`";
                out += "\n\n";
            }
            if (!d->batch_size_key.empty())
                out += "`" + std::string(d->batch_size_key) +
                       "` must not exceed the `transactionCapacity` of the channel.\n\n";
            if (d->keys.empty()) {
                out += "No keys besides the common ones.\n\n";
            } else {
                key_table(out, d->keys);
                out += "\n";
            }
        }
    }
    auto parts = [&](const char* title, const char* intro, const std::vector<const PartDescriptor*>& list) {
        out += "## " + std::string(title) + "\n\n" + intro + "\n\n";
        for (const auto* d : list) {
            out += "### " + std::string(d->type) + "\n\n";
            if (!d->description.empty()) out += std::string(d->description) + "\n\n";
            if (!d->aliases.empty()) {
                out += "Aliases:";
                for (auto a : d->aliases) out += " `" + std::string(a) + "`";
                out += "\n\n";
            }
            if (d->keys.empty()) {
                out += "No keys.\n\n";
            } else {
                key_table(out, d->keys);
                out += "\n";
            }
        }
    };
    std::vector<const PartDescriptor*> interceptors;
    for (const auto& t : interceptor_types()) interceptors.push_back(&t.part);
    parts("Interceptors",
          "A source's `interceptors` list names its interceptors, run in that order on every event before the "
          "selector: `<agent>.sources.<src>.interceptors.<name>.type` and the keys below under "
          "`<agent>.sources.<src>.interceptors.<name>.`.",
          interceptors);
    parts("Channel selectors",
          "`<agent>.sources.<src>.selector.type` (default `replicating`) and the keys below under "
          "`<agent>.sources.<src>.selector.`. Every channel a selector names must be one of the source's.",
          selector_types());
    parts("Sink processors",
          "`<agent>.sinkgroups.<group>.processor.type` (default `default`) and the keys below under "
          "`<agent>.sinkgroups.<group>.processor.`. A sink belongs to at most one group.",
          sink_processor_types());
    return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string_view nearest(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::string_view best;
    size_t best_d = SIZE_MAX;
    for (auto c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    if (best_d > word.size() / 3 + 1) return {};
    return best;
}

}  // namespace sluice
