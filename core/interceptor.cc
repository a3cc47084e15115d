// SPDX-License-Identifier: Apache-2.0
#include "core/interceptor.h"

#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "core/assert.h"
#include "core/log.h"
#include "core/regex.h"
#include "core/runtime.h"

namespace sluice {

// ---------------------------------------------------------------------------
// ScratchArena, EventDraft

char* ScratchArena::alloc(size_t n) {
    while (_current < _chunks.size()) {
        chunk& c = _chunks[_current];
        if (c.size - c.used >= n) {
            char* p = c.data.get() + c.used;
            c.used += n;
            return p;
        }
        _current++;
    }
    size_t size = std::max<size_t>(n, 16 * 1024);
    _chunks.push_back(chunk{std::make_unique<char[]>(size), size, n});
    _current = _chunks.size() - 1;
    return _chunks.back().data.get();
}

std::string_view ScratchArena::copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = alloc(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
}

void ScratchArena::reset() {
    for (auto& c : _chunks) c.used = 0;
    _current = 0;
}

void EventDraft::load(const EventView& e) {
    body = e.body();
    headers.clear();
    uint32_t n = e.header_count();
    for (uint32_t i = 0; i < n; i++) set(e.header(i).key, e.header(i).value);
}

const std::string_view* EventDraft::find(std::string_view key) const {
    for (const auto& h : headers)
        if (h.key == key) return &h.value;
    return nullptr;
}

void EventDraft::set(std::string_view key, std::string_view value) {
    for (auto& h : headers)
        if (h.key == key) {
            h.value = value;
            return;
        }
    headers.push_back({key, value});
}

bool EventDraft::remove(std::string_view key) {
    for (size_t i = 0; i < headers.size(); i++)
        if (headers[i].key == key) {
            headers.erase(headers.begin() + long(i));
            return true;
        }
    return false;
}

// ---------------------------------------------------------------------------
// The interceptors

namespace {

KeySpec key(std::string_view k, KeyType type, std::string_view dflt, bool required, std::string_view description) {
    KeySpec s;
    s.key = k;
    s.type = type;
    s.default_value = dflt;
    s.required = required;
    s.description = description;
    return s;
}

using Problems = std::vector<std::pair<std::string, std::string>>;

// timestamp: the put's wall-clock time in epoch ms, as decimal text.
class TimestampInterceptor final : public Interceptor {
public:
    explicit TimestampInterceptor(const ComponentSettings& s)
        : _header(s.get_string("headerName")), _preserve(s.get_bool("preserveExisting")) {}
    bool intercept(EventDraft& e, InterceptContext& ctx) override {
        if (_preserve && e.find(_header)) return true;
        // Formatted once per put: every event of a put gets the same time.
        if (ctx.now_ms != _formatted_ms || _text_len == 0) {
            auto r = std::to_chars(_text, _text + sizeof(_text), ctx.now_ms);
            _text_len = size_t(r.ptr - _text);
            _formatted_ms = ctx.now_ms;
        }
        e.set(_header, std::string_view(_text, _text_len));
        return true;
    }

private:
    std::string _header;
    bool _preserve;
    int64_t _formatted_ms = 0;
    char _text[24];
    size_t _text_len = 0;
};

// The local host's address or canonical name, as Java's
// InetAddress.getLocalHost() finds it; empty when it cannot be resolved.
std::string local_host(bool use_ip) {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) return {};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (::getaddrinfo(name, nullptr, &hints, &res) != 0 || !res) return use_ip ? std::string() : std::string(name);
    std::string out;
    if (!use_ip) {
        out = res->ai_canonname ? res->ai_canonname : name;
    } else {
        // IPv4 first, as Java prefers it by default.
        const addrinfo* pick = nullptr;
        for (const addrinfo* a = res; a; a = a->ai_next)
            if (a->ai_family == AF_INET) {
                pick = a;
                break;
            }
        if (!pick) pick = res;
        char buf[INET6_ADDRSTRLEN] = {};
        const void* addr = pick->ai_family == AF_INET
                               ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(pick->ai_addr)->sin_addr)
                               : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(pick->ai_addr)->sin6_addr);
        if (::inet_ntop(pick->ai_family, addr, buf, sizeof(buf))) out = buf;
    }
    ::freeaddrinfo(res);
    return out;
}

// host: the agent's address (useIP) or canonical host name, resolved once.
class HostInterceptor final : public Interceptor {
public:
    explicit HostInterceptor(const ComponentSettings& s)
        : _header(s.get_string("hostHeader")), _preserve(s.get_bool("preserveExisting")),
          _host(local_host(s.get_bool("useIP"))) {
        if (_host.empty()) log_warn("host interceptor: the local host name does not resolve; no header is set");
    }
    bool intercept(EventDraft& e, InterceptContext&) override {
        if (_preserve && e.find(_header)) return true;
        if (!_host.empty()) e.set(_header, _host);
        return true;
    }

private:
    std::string _header;
    bool _preserve;
    std::string _host;
};

// static: one fixed header.
class StaticInterceptor final : public Interceptor {
public:
    explicit StaticInterceptor(const ComponentSettings& s)
        : _key(s.get_string("key")), _value(s.get_string("value")), _preserve(s.get_bool("preserveExisting")) {}
    bool intercept(EventDraft& e, InterceptContext&) override {
        if (_preserve && e.find(_key)) return true;
        e.set(_key, _value);
        return true;
    }

private:
    std::string _key, _value;
    bool _preserve;
};

// Java's String.split(regex) with its trailing empty strings removed.
std::vector<std::string> java_split(std::string_view text, Regex& sep) {
    std::vector<std::string> out;
    size_t from = 0, search = 0;
    while (search <= text.size() && sep.find(text, search)) {
        size_t b, e;
        sep.group(0, &b, &e);
        if (e == 0) {  // an empty match at the start splits nothing (Java 8+)
            search = 1;
            continue;
        }
        if (b == e) {
            if (b >= text.size()) break;
            out.emplace_back(text.substr(from, b - from));
            from = b;
            search = b + 1;
            continue;
        }
        out.emplace_back(text.substr(from, b - from));
        from = search = e;
    }
    out.emplace_back(text.substr(from));
    while (!out.empty() && out.back().empty()) out.pop_back();
    if (out.empty() && text.empty()) out.emplace_back();
    return out;
}

// remove_header: by exact name, by a list of names, by a full-match regex.
class RemoveHeaderInterceptor final : public Interceptor {
public:
    static Result<std::unique_ptr<Interceptor>> make(const ComponentSettings& s) {
        std::unique_ptr<RemoveHeaderInterceptor> r(new RemoveHeaderInterceptor());
        if (s.has("withName")) r->_with_name = s.get_string("withName");
        if (s.has("fromList")) {
            auto sep = Regex::compile(s.get_string("fromListSeparator"));
            if (!sep) return sep.status();
            r->_from_list = java_split(s.get_string("fromList"), *sep.value());
            r->_has_list = true;
        }
        if (s.has("matching")) {
            auto re = Regex::compile(s.get_string("matching"));
            if (!re) return re.status();
            r->_matching = std::move(re.value());
        }
        return std::unique_ptr<Interceptor>(std::move(r));
    }
    bool intercept(EventDraft& e, InterceptContext&) override {
        if (_with_name) e.remove(*_with_name);
        if (!_has_list && !_matching) return true;
        std::erase_if(e.headers, [&](const Header& h) {
            if (_has_list && std::find(_from_list.begin(), _from_list.end(), h.key) != _from_list.end()) return true;
            return _matching && _matching->matches(h.key);
        });
        return true;
    }

private:
    RemoveHeaderInterceptor() = default;
    std::optional<std::string> _with_name;
    std::vector<std::string> _from_list;
    bool _has_list = false;
    std::unique_ptr<Regex> _matching;
};

// regex_filter: keep (or, with excludeEvents, drop) the events whose body
// contains a match.
class RegexFilterInterceptor final : public Interceptor {
public:
    RegexFilterInterceptor(std::unique_ptr<Regex> re, bool exclude) : _re(std::move(re)), _exclude(exclude) {}
    bool intercept(EventDraft& e, InterceptContext&) override { return _re->find(e.body) != _exclude; }

private:
    std::unique_ptr<Regex> _re;
    bool _exclude;
};

// A Joda-Time pattern for the millis serializer: the subset used for log
// timestamps. Letters: y (year), M (month; MMM/MMMM names), d, H, k, h, K, m,
// s, S (fraction), a (AM/PM), Z (offset), E (day name, skipped); 'quoted'
// text and other characters are literals. Without Z the time is local, as
// Joda's default zone.
class JodaPattern {
public:
    static Result<JodaPattern> compile(std::string_view pattern) {
        JodaPattern p;
        for (size_t i = 0; i < pattern.size();) {
            char c = pattern[i];
            if (c == '\'') {
                // '' is a quote; 'text' is literal text, '' inside it a quote.
                if (i + 1 < pattern.size() && pattern[i + 1] == '\'') {
                    p._tokens.push_back({0, 0, "'"});
                    i += 2;
                    continue;
                }
                std::string lit;
                size_t j = i + 1;
                for (;; j++) {
                    if (j >= pattern.size())
                        return Status(errc::config, "unterminated quote in time pattern '" + std::string(pattern) + "'");
                    if (pattern[j] != '\'') {
                        lit += pattern[j];
                    } else if (j + 1 < pattern.size() && pattern[j + 1] == '\'') {
                        lit += '\'';
                        j++;
                    } else {
                        break;
                    }
                }
                p._tokens.push_back({0, 0, lit});
                i = j + 1;
            } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                size_t j = i;
                while (j < pattern.size() && pattern[j] == c) j++;
                if (!std::strchr("yYMdHkhKmsSaZEe", c))
                    return Status(errc::config, "time pattern letter '" + std::string(1, c) +
                                                    "' is not supported (supported: y M d H k h K m s S a Z E)");
                p._tokens.push_back({c, int(j - i), {}});
                i = j;
            } else {
                p._tokens.push_back({0, 0, std::string(1, c)});
                i++;
            }
        }
        return p;
    }

    // Epoch ms of `text`, or nullopt when it does not fit the pattern.
    std::optional<int64_t> parse(std::string_view text) const {
        int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
        int ampm = -1, offset_min = 0;
        bool has_offset = false, hour12 = false;
        size_t pos = 0;
        static const char* const months[] = {"january", "february", "march",     "april",   "may",      "june",
                                             "july",    "august",   "september", "october", "november", "december"};
        static const char* const days[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
        auto lower = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
        auto match_name = [&](const char* const* names, int n, int* out) {
            // Full name first, then the three-letter form.
            for (int full = 1; full >= 0; full--)
                for (int i = 0; i < n; i++) {
                    size_t len = full ? std::strlen(names[i]) : 3;
                    if (pos + len > text.size()) continue;
                    bool ok = true;
                    for (size_t k = 0; k < len && ok; k++) ok = lower(text[pos + k]) == names[i][k];
                    if (ok) {
                        *out = i;
                        pos += len;
                        return true;
                    }
                }
            return false;
        };
        for (size_t t = 0; t < _tokens.size(); t++) {
            const auto& tok = _tokens[t];
            if (tok.letter == 0) {
                if (text.substr(pos, tok.literal.size()) != tok.literal) return std::nullopt;
                pos += tok.literal.size();
                continue;
            }
            char c = tok.letter;
            if (c == 'M' && tok.count >= 3) {
                int m;
                if (!match_name(months, 12, &m)) return std::nullopt;
                month = m + 1;
                continue;
            }
            if (c == 'E' || c == 'e') {
                int d;
                if (c == 'e') {
                    if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos]))) return std::nullopt;
                    pos++;
                } else if (!match_name(days, 7, &d)) {
                    return std::nullopt;
                }
                continue;
            }
            if (c == 'a') {
                if (pos + 2 > text.size()) return std::nullopt;
                char a = lower(text[pos]);
                if ((a != 'a' && a != 'p') || lower(text[pos + 1]) != 'm') return std::nullopt;
                ampm = a == 'p';
                pos += 2;
                continue;
            }
            if (c == 'Z') {
                if (pos < text.size() && text[pos] == 'Z') {
                    has_offset = true;
                    pos++;
                    continue;
                }
                if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
                int sign = text[pos] == '-' ? -1 : 1;
                pos++;
                int hh = 0, mm = 0;
                if (!digits(text, pos, 2, 2, &hh)) return std::nullopt;
                if (pos < text.size() && text[pos] == ':') pos++;
                if (!digits(text, pos, 2, 2, &mm)) return std::nullopt;
                offset_min = sign * (hh * 60 + mm);
                has_offset = true;
                continue;
            }
            // Numeric: exactly `count` digits when the next token is numeric
            // too (yyyyMMdd), else up to 9 (Joda parses greedily).
            bool adjacent = t + 1 < _tokens.size() && _tokens[t + 1].letter != 0 &&
                            !(_tokens[t + 1].letter == 'M' && _tokens[t + 1].count >= 3) &&
                            !std::strchr("aZEe", _tokens[t + 1].letter);
            int minw = c == 'S' ? tok.count : 1;
            int maxw = adjacent ? tok.count : 9;
            if (adjacent) minw = tok.count;
            int v = 0;
            size_t start = pos;
            if (!digits(text, pos, minw, maxw, &v)) return std::nullopt;
            switch (c) {
            case 'y':
            case 'Y':
                year = v;
                if (tok.count == 2 && pos - start == 2) year = 2000 + v;  // Joda's two-digit year pivot
                break;
            case 'M': month = v; break;
            case 'd': day = v; break;
            case 'H': hour = v; break;
            case 'k': hour = v == 24 ? 0 : v; break;
            case 'h': hour = v == 12 ? 0 : v; hour12 = true; break;
            case 'K': hour = v; hour12 = true; break;
            case 'm': minute = v; break;
            case 's': second = v; break;
            case 'S': {
                // A fraction of a second: scale to milliseconds.
                int width = int(pos - start);
                while (width > 3) {
                    v /= 10;
                    width--;
                }
                while (width < 3) {
                    v *= 10;
                    width++;
                }
                millis = v;
                break;
            }
            default: return std::nullopt;
            }
        }
        if (pos != text.size()) return std::nullopt;  // Joda: the whole text must fit
        if (hour12 && ampm == 1) hour += 12;
        if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
            return std::nullopt;
        struct tm tm {};
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;
        int64_t secs;
        if (has_offset) {
            secs = int64_t(timegm(&tm)) - int64_t(offset_min) * 60;
        } else {
            tm.tm_isdst = -1;
            secs = int64_t(mktime(&tm));
        }
        return secs * 1000 + millis;
    }

private:
    struct token {
        char letter;  // 0: literal
        int count;
        std::string literal;
    };
    static bool digits(std::string_view s, size_t& pos, int minw, int maxw, int* out) {
        int v = 0, n = 0;
        while (n < maxw && pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
            v = v * 10 + (s[pos] - '0');
            pos++;
            n++;
        }
        if (n < minw) return false;
        *out = v;
        return true;
    }
    std::vector<token> _tokens;
};

constexpr std::string_view pass_through_class = "org.apache.flume.interceptor.RegexExtractorInterceptorPassThroughSerializer";
constexpr std::string_view millis_class = "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer";

struct extractor_serializer {
    std::string header;
    std::optional<JodaPattern> millis;  // none: pass-through
};

// The serializers of a regex_extractor, checked: (key relative to the
// interceptor, message) for each problem.
std::vector<extractor_serializer> read_serializers(const ComponentSettings& s, Problems& problems) {
    std::vector<extractor_serializer> out;
    auto sub = s.get_prefixed("serializers.");
    auto value_of = [&](const std::string& k) -> std::optional<std::string> {
        for (auto& [key, v] : sub)
            if (key == k) return v;
        return std::nullopt;
    };
    for (const auto& name : s.get_list("serializers")) {
        extractor_serializer ser;
        auto header = value_of(name + ".name");
        if (!header || header->empty()) {
            problems.emplace_back("serializers." + name + ".name", "required key is missing (the header to set)");
            continue;
        }
        ser.header = *header;
        std::string type = value_of(name + ".type").value_or("DEFAULT");
        if (type == "DEFAULT" || type == pass_through_class) {
        } else if (type == millis_class) {
            auto pattern = value_of(name + ".pattern");
            if (!pattern || pattern->empty()) {
                problems.emplace_back("serializers." + name + ".pattern", "required key is missing (a Joda time pattern)");
                continue;
            }
            auto p = JodaPattern::compile(*pattern);
            if (!p) {
                problems.emplace_back("serializers." + name + ".pattern", p.status().message());
                continue;
            }
            ser.millis = std::move(p.value());
        } else {
            problems.emplace_back("serializers." + name + ".type",
                                  "unknown serializer '" + type + "'; known: DEFAULT, " + std::string(pass_through_class) +
                                      ", " + std::string(millis_class));
            continue;
        }
        out.push_back(std::move(ser));
    }
    return out;
}

// regex_extractor: group i of the first match goes, through serializer i, into
// that serializer's header.
class RegexExtractorInterceptor final : public Interceptor {
public:
    RegexExtractorInterceptor(std::unique_ptr<Regex> re, std::vector<extractor_serializer> serializers)
        : _re(std::move(re)), _serializers(std::move(serializers)) {}
    bool intercept(EventDraft& e, InterceptContext& ctx) override {
        if (!_re->find(e.body)) return true;
        uint32_t n = std::min<uint32_t>(_re->group_count(), uint32_t(_serializers.size()));
        for (uint32_t g = 1; g <= n; g++) {
            size_t b, end;
            // A group that took no part in the match sets nothing (Flume would store a null value).
            if (!_re->group(g, &b, &end)) continue;
            std::string_view value = e.body.substr(b, end - b);
            const auto& ser = _serializers[g - 1];
            if (ser.millis) {
                auto ms = ser.millis->parse(value);
                if (!ms) {
                    if (!_warned) log_warn("regex_extractor: '%.*s' does not fit the time pattern of header %s; header not set",
                                           int(std::min<size_t>(value.size(), 100)), value.data(), ser.header.c_str());
                    _warned = true;
                    continue;
                }
                char buf[24];
                auto r = std::to_chars(buf, buf + sizeof(buf), *ms);
                value = ctx.scratch.copy(std::string_view(buf, size_t(r.ptr - buf)));
            }
            e.set(ser.header, value);
        }
        return true;
    }

private:
    std::unique_ptr<Regex> _re;
    std::vector<extractor_serializer> _serializers;
    bool _warned = false;
};

bool is_utf8_charset(std::string_view c) {
    std::string l;
    for (char ch : c) l += char(std::tolower(static_cast<unsigned char>(ch)));
    return l == "utf-8" || l == "utf8";
}

// search_replace: Java's replaceAll on the body.
class SearchReplaceInterceptor final : public Interceptor {
public:
    static Result<std::unique_ptr<Interceptor>> make(const ComponentSettings& s) {
        auto re = Regex::compile(s.get_string("searchPattern"));
        if (!re) return re.status();
        auto pieces = re.value()->parse_replacement(s.get_string("replaceString"));
        if (!pieces) return pieces.status();
        return std::unique_ptr<Interceptor>(new SearchReplaceInterceptor(std::move(re.value()), std::move(pieces.value())));
    }
    bool intercept(EventDraft& e, InterceptContext& ctx) override {
        _out = _re->replace_all(e.body, _replacement);
        e.body = ctx.scratch.copy(_out);
        return true;
    }

private:
    SearchReplaceInterceptor(std::unique_ptr<Regex> re, std::vector<Regex::ReplacementPiece> r)
        : _re(std::move(re)), _replacement(std::move(r)) {}
    std::unique_ptr<Regex> _re;
    std::vector<Regex::ReplacementPiece> _replacement;
    std::string _out;
};

void check_regex(const ComponentSettings& s, const char* k, Problems& problems) {
    if (!s.has(k) && s.get_string(k).empty()) return;
    if (auto re = Regex::compile(s.get_string(k)); !re) problems.emplace_back(k, re.status().message());
}

std::vector<InterceptorType> make_types() {
    std::vector<InterceptorType> types;
    {
        InterceptorType t;
        t.part.type = "timestamp";
        t.part.aliases = {"org.apache.flume.interceptor.TimestampInterceptor$Builder"};
        t.part.description = "Sets a header to the time of the put, in epoch milliseconds.";
        t.part.keys = {key("headerName", KeyType::string, "timestamp", false, "The header to set."),
                       key("preserveExisting", KeyType::boolean, "false", false,
                           "Keep the header when the event already has it.")};
        t.build = [](const ComponentSettings& s) -> Result<std::unique_ptr<Interceptor>> {
            return std::unique_ptr<Interceptor>(new TimestampInterceptor(s));
        };
        types.push_back(std::move(t));
    }
    {
        InterceptorType t;
        t.part.type = "host";
        t.part.aliases = {"org.apache.flume.interceptor.HostInterceptor$Builder"};
        t.part.description = "Sets a header to the agent host's IP address or canonical name (resolved once at start).";
        t.part.keys = {key("hostHeader", KeyType::string, "host", false, "The header to set."),
                       key("useIP", KeyType::boolean, "true", false, "The IP address (true) or the canonical host name."),
                       key("preserveExisting", KeyType::boolean, "false", false,
                           "Keep the header when the event already has it.")};
        t.build = [](const ComponentSettings& s) -> Result<std::unique_ptr<Interceptor>> {
            return std::unique_ptr<Interceptor>(new HostInterceptor(s));
        };
        types.push_back(std::move(t));
    }
    {
        InterceptorType t;
        t.part.type = "static";
        t.part.aliases = {"org.apache.flume.interceptor.StaticInterceptor$Builder"};
        t.part.description = "Sets one fixed header.";
        t.part.keys = {key("key", KeyType::string, "key", false, "The header name."),
                       key("value", KeyType::string, "value", false, "The header value."),
                       key("preserveExisting", KeyType::boolean, "true", false,
                           "Keep the header when the event already has it.")};
        t.build = [](const ComponentSettings& s) -> Result<std::unique_ptr<Interceptor>> {
            return std::unique_ptr<Interceptor>(new StaticInterceptor(s));
        };
        types.push_back(std::move(t));
    }
    {
        InterceptorType t;
        t.part.type = "remove_header";
        t.part.aliases = {"org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder"};
        t.part.description = "Removes headers: one by name, those in a list, those whose whole name matches a regex.";
        t.part.keys = {key("withName", KeyType::string, "", false, "A header name to remove."),
                       key("fromList", KeyType::string, "", false, "Header names to remove, split by fromListSeparator."),
                       key("fromListSeparator", KeyType::string, "\\s*,\\s*", false, "The regex that splits fromList."),
                       key("matching", KeyType::string, "", false, "Removes every header whose whole name matches this regex.")};
        t.part.check = [](const ComponentSettings& s, Problems& problems) {
            check_regex(s, "fromListSeparator", problems);
            check_regex(s, "matching", problems);
        };
        t.build = RemoveHeaderInterceptor::make;
        types.push_back(std::move(t));
    }
    {
        InterceptorType t;
        t.part.type = "regex_filter";
        t.part.aliases = {"org.apache.flume.interceptor.RegexFilteringInterceptor$Builder"};
        t.part.description =
            "Keeps the events whose body contains a match of the regex (or, with excludeEvents, drops them). "
            "Dropped events vanish silently: the source still acknowledges them.";
        t.part.keys = {key("regex", KeyType::string, ".*", false, "Java regular expression searched in the body."),
                       key("excludeEvents", KeyType::boolean, "false", false, "Drop the matching events instead.")};
        t.part.check = [](const ComponentSettings& s, Problems& problems) { check_regex(s, "regex", problems); };
        t.build = [](const ComponentSettings& s) -> Result<std::unique_ptr<Interceptor>> {
            auto re = Regex::compile(s.get_string("regex"));
            if (!re) return re.status();
            return std::unique_ptr<Interceptor>(new RegexFilterInterceptor(std::move(re.value()), s.get_bool("excludeEvents")));
        };
        types.push_back(std::move(t));
    }
    {
        InterceptorType t;
        t.part.type = "regex_extractor";
        t.part.aliases = {"org.apache.flume.interceptor.RegexExtractorInterceptor$Builder"};
        t.part.description =
            "Searches the body for the regex; group i of the first match goes through serializer i into its header. "
            "No match leaves the headers as they are; groups beyond the serializers are ignored.";
        t.part.keys = {
            key("regex", KeyType::string, "", true, "Java regular expression searched in the body."),
            key("serializers", KeyType::list, "", true, "Serializer names, one per group, in group order."),
            key("serializers.", KeyType::prefix, "", false,
                "serializers.<s>.name (required: the header), serializers.<s>.type (DEFAULT = the text as it is, or "
                "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer with serializers.<s>.pattern, "
                "a Joda-Time pattern: the header is epoch ms)"),
        };
        t.part.keys[2].differs_from_flume =
            "Time patterns take the letters y M d H k h K m s S a Z E; a value that does not fit leaves the header "
            "unset (Flume fails the put). A group that takes no part in the match sets no header (Flume stores null).";
        t.part.check = [](const ComponentSettings& s, Problems& problems) {
            check_regex(s, "regex", problems);
            (void)read_serializers(s, problems);
        };
        t.build = [](const ComponentSettings& s) -> Result<std::unique_ptr<Interceptor>> {
            auto re = Regex::compile(s.get_string("regex"));
            if (!re) return re.status();
            Problems problems;
            auto sers = read_serializers(s, problems);
            if (!problems.empty()) return Status(errc::config, problems[0].first + ": " + problems[0].second);
            return std::unique_ptr<Interceptor>(new RegexExtractorInterceptor(std::move(re.value()), std::move(sers)));
        };
        types.push_back(std::move(t));
    }
    {
        InterceptorType t;
        t.part.type = "search_replace";
        t.part.aliases = {"org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder"};
        t.part.description = "Replaces every match of searchPattern in the body (Java's replaceAll: $1 and ${name} "
                             "insert groups, \\ escapes).";
        t.part.keys = {key("searchPattern", KeyType::string, "", true, "Java regular expression."),
                       key("replaceString", KeyType::string, "", false, "The replacement (empty: remove the matches)."),
                       key("charset", KeyType::string, "UTF-8", false, "The body's character set.")};
        t.part.keys[2].differs_from_flume = "Only UTF-8 is supported.";
        t.part.check = [](const ComponentSettings& s, Problems& problems) {
            auto re = Regex::compile(s.get_string("searchPattern"));
            if (!re) {
                problems.emplace_back("searchPattern", re.status().message());
            } else if (auto r = re.value()->parse_replacement(s.get_string("replaceString")); !r) {
                problems.emplace_back("replaceString", r.status().message());
            }
            if (!is_utf8_charset(s.get_string("charset")))
                problems.emplace_back("charset", "charset '" + s.get_string("charset") + "' is not supported; supported: UTF-8");
        };
        t.build = SearchReplaceInterceptor::make;
        types.push_back(std::move(t));
    }
    return types;
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

const std::vector<InterceptorType>& interceptor_types() {
    static const std::vector<InterceptorType> types = make_types();
    return types;
}

const InterceptorType* find_interceptor_type(std::string_view type) {
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front()))) type.remove_prefix(1);
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.remove_suffix(1);
    for (const auto& t : interceptor_types()) {
        if (iequal(t.part.type, type)) return &t;
        for (auto a : t.part.aliases)
            if (iequal(a, type)) return &t;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------
// The chain

InterceptorChain::InterceptorChain(std::vector<std::unique_ptr<Interceptor>> chain) : _chain(std::move(chain)) {}
InterceptorChain::~InterceptorChain() = default;

EventBatchPtr InterceptorChain::apply(const EventSpan& span) {
    const EventBatch& in = *span.batch;
    size_t bytes = 0;
    for (uint32_t i = span.begin; i < span.end; i++) bytes += in[i].body().size();
    auto out = std::make_shared<EventBatch>(span.size(), bytes + size_t(span.size()) * 48);
    out->set_received_us(in.received_us());
    InterceptContext ctx{wall_clock_ms(), _scratch};
    for (uint32_t i = span.begin; i < span.end; i++) {
        _draft.load(in[i]);
        bool keep = true;
        for (auto& ic : _chain)
            if (!(keep = ic->intercept(_draft, ctx))) break;
        if (keep) {
            out->add(_draft.body);
            for (const auto& h : _draft.headers) out->add_header(h.key, h.value);
        }
        _scratch.reset();
    }
    return out;
}

Result<std::unique_ptr<InterceptorChain>> build_interceptor_chain(const ComponentSettings& source) {
    auto names = source.get_list("interceptors");
    if (names.empty()) return std::unique_ptr<InterceptorChain>();
    std::vector<std::unique_ptr<Interceptor>> chain;
    for (const auto& name : names) {
        const std::string prefix = "interceptors." + name + ".";
        ComponentConfig sub = sub_component(source.config(), prefix, name);
        const auto* type_value = sub.find("type");
        const InterceptorType* type = type_value ? find_interceptor_type(type_value->value) : nullptr;
        if (!type) return Status(errc::config, "interceptor " + name + ": no known type");
        ComponentSettings settings(&sub, &type->part.keys);
        auto ic = type->build(settings);
        if (!ic) return Status(ic.status().code(), "interceptor " + name + ": " + ic.status().message());
        chain.push_back(std::move(ic.value()));
    }
    return std::make_unique<InterceptorChain>(std::move(chain));
}

}  // namespace sluice
