// SPDX-License-Identifier: Apache-2.0
// Flume's structural rules over a parsed properties file (flume.md §2.1, §2.6):
// which keys belong to the agent, the agent lists, component keys, ${...}
// substitution and -D overrides. Registry-driven checks live in registry.cc.
#include "core/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>

#include "core/registry.h"

namespace sluice {

std::string_view kind_name(ComponentKind k) {
    switch (k) {
    case ComponentKind::source: return "source";
    case ComponentKind::channel: return "channel";
    case ComponentKind::sink: return "sink";
    case ComponentKind::sinkgroup: return "sinkgroup";
    case ComponentKind::stream: return "stream";
    }
    return "component";
}

std::string_view kind_plural(ComponentKind k) {
    switch (k) {
    case ComponentKind::source: return "sources";
    case ComponentKind::channel: return "channels";
    case ComponentKind::sink: return "sinks";
    case ComponentKind::sinkgroup: return "sinkgroups";
    case ComponentKind::stream: return "streams";
    }
    return "components";
}

std::string ConfigProblem::to_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    if (!out.empty()) out += ": ";
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

const ConfigValue* ComponentConfig::find(const std::string& key) const {
    auto it = props.find(key);
    return it == props.end() ? nullptr : &it->second;
}

std::vector<ComponentConfig>& AgentConfig::of(ComponentKind k) {
    switch (k) {
    case ComponentKind::source: return sources;
    case ComponentKind::channel: return channels;
    case ComponentKind::sink: return sinks;
    case ComponentKind::sinkgroup: return sinkgroups;
    case ComponentKind::stream: return streams;
    }
    return sources;
}

const std::vector<ComponentConfig>& AgentConfig::of(ComponentKind k) const {
    return const_cast<AgentConfig*>(this)->of(k);
}

const ComponentConfig* AgentConfig::find(ComponentKind k, const std::string& name) const {
    for (const auto& c : of(k))
        if (c.name == name) return &c;
    return nullptr;
}

namespace {

constexpr ComponentKind all_kinds[] = {ComponentKind::source, ComponentKind::channel, ComponentKind::sink,
                                       ComponentKind::sinkgroup, ComponentKind::stream};

std::optional<ComponentKind> kind_from_plural(std::string_view s) {
    for (auto k : all_kinds)
        if (kind_plural(k) == s) return k;
    return std::nullopt;
}

}  // namespace

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        size_t b = i;
        while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        if (i > b) out.emplace_back(s.substr(b, i - b));
    }
    return out;
}

namespace {

// Commons-Text style substitution as Flume 1.10+ applies it to values:
//   ${env:X}      environment variable X (an unset one is an error here;
//                 Commons-Text would leave the text as is)
//   ${X}          the value of key X of the same file, itself substituted
//   ${..:-dflt}   dflt when the variable is not set
//   $${           a literal "${"
// Other lookups (${sys:X}, ${date:...}) are not supported and are errors.
constexpr size_t max_value_bytes = 1 << 20;

class substitutor {
public:
    substitutor(const std::unordered_map<std::string, const std::string*>& keys,
                const std::optional<std::map<std::string, std::string>>& env)
        : _keys(keys), _env(env) {}

    // The substituted text, or nullopt with `error` set.
    std::optional<std::string> run(std::string_view text, std::string& error) {
        std::vector<std::string> stack;
        return substitute(text, stack, error);
    }

private:
    // The index of the '}' closing a "${" that starts at `open`, or npos.
    static size_t closing_brace(std::string_view s, size_t open) {
        int depth = 0;
        for (size_t i = open; i < s.size(); ++i) {
            if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
                ++depth;
                ++i;
            } else if (s[i] == '}' && --depth == 0) {
                return i;
            }
        }
        return std::string_view::npos;
    }

    std::optional<std::string> substitute(std::string_view s, std::vector<std::string>& stack,
                                          std::string& error) {
        std::string out;
        for (size_t i = 0; i < s.size(); ++i) {
            // References that double at each level would grow without bound.
            if (out.size() > max_value_bytes) {
                error = "value longer than 1 MiB after substitution";
                return std::nullopt;
            }
            if (s[i] != '$') {
                out += s[i];
                continue;
            }
            if (s.compare(i, 3, "$${") == 0) {
                out += "${";
                i += 2;
                continue;
            }
            if (i + 1 >= s.size() || s[i + 1] != '{') {
                out += '$';
                continue;
            }
            size_t close = closing_brace(s, i);
            if (close == std::string_view::npos) {  // unterminated: plain text, as Commons-Text
                out += s.substr(i);
                break;
            }
            auto inner = substitute(s.substr(i + 2, close - i - 2), stack, error);
            if (!inner) return std::nullopt;
            auto value = resolve(*inner, stack, error);
            if (!value) return std::nullopt;
            out += *value;
            i = close;
        }
        if (out.size() > max_value_bytes) {
            error = "value longer than 1 MiB after substitution";
            return std::nullopt;
        }
        return out;
    }

    std::optional<std::string> resolve(const std::string& expr, std::vector<std::string>& stack,
                                       std::string& error) {
        std::string name = expr;
        std::optional<std::string> fallback;
        if (auto d = expr.find(":-"); d != std::string::npos) {
            name = expr.substr(0, d);
            fallback = expr.substr(d + 2);
        }
        // A "word:" prefix names a Commons-Text lookup.
        size_t colon = name.find(':');
        bool is_lookup = colon != std::string::npos && colon > 0 &&
                         std::all_of(name.begin(), name.begin() + static_cast<long>(colon),
                                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
        if (is_lookup) {
            std::string prefix = name.substr(0, colon);
            std::string var = name.substr(colon + 1);
            if (prefix != "env") {
                error = "${" + name + "}: the '" + prefix +
                        "' lookup is not supported (use ${env:NAME} or ${other.key})";
                return std::nullopt;
            }
            if (_env) {
                if (auto it = _env->find(var); it != _env->end()) return it->second;
            } else if (const char* v = std::getenv(var.c_str())) {
                return std::string(v);
            }
            if (fallback) return fallback;
            error = "environment variable '" + var + "' is not set (in ${" + name + "})";
            return std::nullopt;
        }
        auto it = _keys.find(name);
        if (it == _keys.end()) {
            if (fallback) return fallback;
            error = "undefined variable '${" + name + "}' (no such key; write $${ for a literal ${)";
            return std::nullopt;
        }
        if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
            error = "circular reference through '${" + name + "}'";
            return std::nullopt;
        }
        // Each key is expanded once: references that repeat (${a}${a}) reuse it.
        if (auto c = _cache.find(name); c != _cache.end()) return c->second;
        stack.push_back(name);
        auto v = substitute(*it->second, stack, error);
        stack.pop_back();
        if (v) _cache.emplace(name, *v);
        return v;
    }

    const std::unordered_map<std::string, const std::string*>& _keys;
    const std::optional<std::map<std::string, std::string>>& _env;
    std::unordered_map<std::string, std::string> _cache;
};

struct agent_entry {
    std::string sub;  // key relative to the component
    std::string value;
    int line;
};

ConfigProblem problem(ConfigProblem::Severity sev, const std::string& file, int line, std::string key,
                      std::string message) {
    return ConfigProblem{sev, file, line, std::move(key), std::move(message)};
}

}  // namespace

AgentConfig read_agent_config_text(std::string_view text, const std::string& file_label,
                                   const ReadOptions& opts, std::vector<ConfigProblem>& problems) {
    using Sev = ConfigProblem::Severity;
    const size_t first_problem = problems.size();
    AgentConfig cfg;
    cfg.agent = opts.agent;
    cfg.file = file_label;

    std::vector<PropertyLine> props = parse_properties(text, file_label, problems);
    // -D overrides win over the file; they have no line.
    {
        std::unordered_map<std::string, size_t> at;
        for (size_t i = 0; i < props.size(); ++i) at.emplace(props[i].key, i);
        for (const auto& [k, v] : opts.overrides) {
            if (auto it = at.find(k); it != at.end()) {
                props[it->second].value = v;
                props[it->second].line = 0;
            } else {
                props.push_back({k, v, 0});
            }
        }
    }

    std::unordered_map<std::string, const std::string*> by_key;
    for (const auto& p : props) by_key.emplace(p.key, &p.value);
    substitutor subst(by_key, opts.env);

    const std::string prefix = opts.agent + ".";
    bool any = false;
    struct list_value {
        std::string value;
        int line = 0;
        bool present = false;
    };
    std::map<ComponentKind, list_value> lists;
    // Per kind: name -> entries in file order; names in first-appearance order.
    std::map<ComponentKind, std::map<std::string, std::vector<agent_entry>>> components;
    std::map<ComponentKind, std::vector<std::string>> component_order;

    for (const auto& p : props) {
        if (p.key.size() <= prefix.size() || p.key.compare(0, prefix.size(), prefix) != 0) continue;
        any = true;
        std::string error;
        auto value = subst.run(p.value, error);
        if (!value) {
            problems.push_back(problem(Sev::error, file_label, p.line, p.key, error + "; property ignored"));
            continue;
        }
        if (value->empty()) {
            problems.push_back(problem(Sev::error, file_label, p.line, p.key,
                                       p.value.empty() ? "empty value; property ignored"
                                                       : "empty value after substitution; property ignored"));
            continue;
        }
        std::string_view rest = std::string_view(p.key).substr(prefix.size());
        size_t dot = rest.find('.');
        std::string_view head = rest.substr(0, dot);
        auto kind = kind_from_plural(head);
        bool valid = false;
        if (kind && dot == std::string_view::npos) {
            lists[*kind] = {*value, p.line, true};
            valid = true;
        } else if (kind) {
            std::string_view r2 = rest.substr(dot + 1);
            size_t d2 = r2.find('.');
            if (d2 != std::string_view::npos && d2 > 0 && d2 + 1 < r2.size()) {
                std::string name(r2.substr(0, d2));
                auto& entries = components[*kind][name];
                if (entries.empty()) component_order[*kind].push_back(name);
                entries.push_back({std::string(r2.substr(d2 + 1)), *value, p.line});
                valid = true;
            }
        }
        if (!valid) {
            std::string msg =
                "not a valid key: expected " + prefix + "sources|channels|sinks|sinkgroups|streams.<name>.<key>";
            if (head == "configfilters") {
                msg += " (config filters are not supported)";
            } else if (!kind) {
                auto hint = nearest(head, {"sources", "channels", "sinks", "sinkgroups", "streams"});
                if (!hint.empty()) msg += " (did you mean '" + prefix + std::string(hint) + "'?)";
            }
            problems.push_back(problem(Sev::error, file_label, p.line, p.key, std::move(msg)));
        }
    }

    if (!any) {
        problems.push_back(
            problem(Sev::error, file_label, 0, opts.agent, "No configuration found for this host:" + opts.agent));
        return cfg;
    }

    for (auto kind : all_kinds) {
        const std::string list_key = prefix + std::string(kind_plural(kind));
        auto& named = components[kind];
        std::set<std::string> used;
        const auto& list = lists[kind];
        for (const auto& name : split_list(list.value)) {
            const std::string key_prefix = list_key + "." + name + ".";
            if (!used.insert(name).second) {
                problems.push_back(problem(Sev::warning, file_label, list.line, list_key,
                                           "'" + name + "' is listed twice; the repeat is ignored"));
                continue;
            }
            auto it = named.find(name);
            if (it == named.end()) {
                problems.push_back(problem(Sev::error, file_label, list.line, list_key + "." + name,
                                           "listed in " + list_key + " but has no properties"));
                continue;
            }
            ComponentConfig c;
            c.kind = kind;
            c.name = name;
            c.key_prefix = key_prefix;
            c.line = it->second.front().line;
            for (auto& e : it->second) c.props[e.sub] = ConfigValue{e.value, e.line};
            if (const auto* type = c.find("type")) {
                c.line = type->line;
            } else if (kind == ComponentKind::source || kind == ComponentKind::channel ||
                       kind == ComponentKind::sink) {
                // Flume drops it (ATTRS_MISSING); validate_agent reports the same
                // problem and de-duplicates.
                problems.push_back(problem(Sev::error, file_label, c.line, c.full_key("type"),
                                           "required key is missing"));
            }
            cfg.of(kind).push_back(std::move(c));
        }
        for (const auto& name : component_order[kind]) {
            if (used.count(name)) continue;
            problems.push_back(problem(Sev::warning, file_label, named[name].front().line, list_key + "." + name,
                                       "not listed in " + list_key + "; ignored"));
        }
    }

    std::stable_sort(problems.begin() + static_cast<long>(first_problem), problems.end(),
                     [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
    return cfg;
}

AgentConfig read_agent_config(const std::string& file, const ReadOptions& opts,
                              std::vector<ConfigProblem>& problems) {
    auto fail = [&](int err) {
        AgentConfig cfg;
        cfg.agent = opts.agent;
        cfg.file = file;
        // Flume 1.9's text for a missing -f file; strerror for anything else.
        problems.push_back({ConfigProblem::Severity::error, file, 0, "",
                            err == ENOENT ? "The specified configuration file does not exist: " + file
                                          : std::string("cannot read configuration file: ") + std::strerror(err)});
        return cfg;
    };
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(errno);
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            return fail(err);
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return read_agent_config_text(text, file, opts, problems);
}

}  // namespace sluice
