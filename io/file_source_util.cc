// SPDX-License-Identifier: Apache-2.0
#include "io/file_source_util.h"

#include "core/runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace sluice {

unsigned owner_shard(std::string_view source_name, unsigned shards) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : source_name) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return shards == 0 ? 0 : unsigned(h % shards);
}

bool parse_charset(std::string_view name, charset& out) {
    std::string n;
    for (char c : name) n += char(toupper(static_cast<unsigned char>(c)));
    if (n == "UTF-8" || n == "UTF8") out = charset::utf8;
    else if (n == "ISO-8859-1" || n == "ISO8859_1" || n == "LATIN1") out = charset::latin1;
    else if (n == "US-ASCII" || n == "ASCII") out = charset::ascii;
    else return false;
    return true;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if the byte there does not start one.
size_t utf8_sequence(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    size_t len;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) len = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, min = 0x10000;
    else return 0;
    if (i + len > s.size()) return 0;
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

constexpr std::string_view replacement = "\xEF\xBF\xBD";

}  // namespace

bool decode_to_utf8(std::string_view in, charset cs, decode_policy policy, std::string& out) {
    out.reserve(out.size() + in.size());
    for (size_t i = 0; i < in.size();) {
        unsigned char c = static_cast<unsigned char>(in[i]);
        if (c < 0x80) {
            out += char(c);
            i++;
            continue;
        }
        if (cs == charset::latin1) {
            out += char(0xC0 | (c >> 6));
            out += char(0x80 | (c & 0x3F));
            i++;
            continue;
        }
        size_t len = cs == charset::utf8 ? utf8_sequence(in, i) : 0;
        if (len > 0) {
            out.append(in.substr(i, len));
            i += len;
            continue;
        }
        if (policy == decode_policy::fail) return false;
        if (policy == decode_policy::replace) out += replacement;
        i++;
    }
    return true;
}

size_t bytes_for_chars(std::string_view in, charset cs, size_t max_chars, size_t* chars) {
    size_t n = 0, i = 0;
    while (i < in.size() && n < max_chars) {
        size_t len = 1, units = 1;
        if (cs == charset::utf8) {
            len = utf8_sequence(in, i);
            if (len == 0) len = 1;
            if (len == 4) units = 2;
        }
        // A surrogate pair never straddles the limit in a way that loses
        // bytes: the pair stays whole (the count may end at max_chars + 1).
        n += units;
        i += len;
    }
    if (chars) *chars = n;
    return i;
}

int64_t FullChannelRetry::next_delay_us(int64_t keep_alive_ms, bool& gave_up) {
    int64_t now = monotonic_us();
    gave_up = false;
    if (_since_us == 0) {
        _since_us = now;
        _delay_us = 1000;
        return _delay_us;
    }
    if (now - _since_us >= keep_alive_ms * 1000) {
        gave_up = true;
        _since_us = 0;
        return 0;
    }
    _delay_us = std::min<int64_t>(_delay_us * 2, 20000);
    return _delay_us;
}

Result<std::shared_ptr<const std::regex>> compile_regex(const std::string& pattern) {
    // libstdc++'s compiler overflows its stack on huge repetition counts
    // (operators/pipeline.cc has the same guard): refuse counts over 1000.
    for (size_t i = 0; i < pattern.size(); i++) {
        if (pattern[i] == '\\') {
            i++;
            continue;
        }
        if (pattern[i] != '{') continue;
        uint64_t n = 0;
        for (size_t j = i + 1; j < pattern.size() && (isdigit(static_cast<unsigned char>(pattern[j])) || pattern[j] == ','); j++) {
            n = pattern[j] == ',' ? 0 : std::min<uint64_t>(n * 10 + uint64_t(pattern[j] - '0'), 1000000);
            if (n > 1000) return Status(errc::invalid_argument, "repetition counts above 1000 are not supported");
        }
    }
    try {
        return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        return Status(errc::invalid_argument, std::string("bad regular expression: ") + e.what());
    }
}

std::string expand_home(const std::string& path) {
    if (path.rfind("~/", 0) != 0) return path;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
}

// ---------------------------------------------------------------- position file JSON

namespace {

class json_reader {
public:
    explicit json_reader(std::string_view s) : _s(s) {}

    void ws() {
        while (_i < _s.size() && (_s[_i] == ' ' || _s[_i] == '\t' || _s[_i] == '\n' || _s[_i] == '\r')) _i++;
    }
    bool eat(char c) {
        ws();
        if (_i < _s.size() && _s[_i] == c) {
            _i++;
            return true;
        }
        return false;
    }
    bool peek(char c) {
        ws();
        return _i < _s.size() && _s[_i] == c;
    }
    bool at_end() {
        ws();
        return _i == _s.size();
    }
    size_t where() const { return _i; }

    bool string(std::string& out) {
        if (!eat('"')) return false;
        out.clear();
        while (_i < _s.size()) {
            char c = _s[_i++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (_i >= _s.size()) return false;
            char e = _s[_i++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        uint32_t lo;
                        if (_i + 1 < _s.size() && _s[_i] == '\\' && _s[_i + 1] == 'u') {
                            _i += 2;
                            if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        } else {
                            cp = 0xFFFD;
                        }
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        cp = 0xFFFD;
                    }
                    put_utf8(cp, out);
                    break;
                }
                default: return false;
            }
        }
        return false;
    }

    // A non-negative integer (Flume writes longs; negative values are not positions).
    bool number(uint64_t& out) {
        ws();
        size_t start = _i;
        out = 0;
        while (_i < _s.size() && _s[_i] >= '0' && _s[_i] <= '9') {
            uint64_t d = uint64_t(_s[_i] - '0');
            if (out > (UINT64_MAX - d) / 10) return false;
            out = out * 10 + d;
            _i++;
        }
        return _i > start;
    }

    // Skips any JSON value (for keys the format does not know).
    bool skip_value(int depth = 0) {
        if (depth > 64) return false;
        ws();
        if (_i >= _s.size()) return false;
        char c = _s[_i];
        if (c == '"') {
            std::string ignored;
            return string(ignored);
        }
        if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            _i++;
            if (eat(close)) return true;
            for (;;) {
                if (c == '{') {
                    std::string k;
                    if (!string(k) || !eat(':')) return false;
                }
                if (!skip_value(depth + 1)) return false;
                if (eat(close)) return true;
                if (!eat(',')) return false;
            }
        }
        size_t start = _i;
        while (_i < _s.size() && (isalnum(static_cast<unsigned char>(_s[_i])) || _s[_i] == '-' || _s[_i] == '+' ||
                                  _s[_i] == '.'))
            _i++;
        return _i > start;
    }

private:
    bool hex4(uint32_t& out) {
        if (_i + 4 > _s.size()) return false;
        out = 0;
        for (int k = 0; k < 4; k++) {
            char h = _s[_i++];
            out <<= 4;
            if (h >= '0' && h <= '9') out |= uint32_t(h - '0');
            else if (h >= 'a' && h <= 'f') out |= uint32_t(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') out |= uint32_t(h - 'A' + 10);
            else return false;
        }
        return true;
    }
    static void put_utf8(uint32_t cp, std::string& out) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    std::string_view _s;
    size_t _i = 0;
};

Status corrupt_at(const json_reader& r, const char* what) {
    return Status(errc::corrupt, std::string(what) + " at offset " + std::to_string(r.where()));
}

}  // namespace

Result<std::vector<TailPosition>> parse_position_file(std::string_view text) {
    json_reader r(text);
    std::vector<TailPosition> out;
    if (!r.eat('[')) return corrupt_at(r, "expected '['");
    if (!r.eat(']')) {
        for (;;) {
            if (!r.eat('{')) return corrupt_at(r, "expected '{'");
            TailPosition p;
            bool has_inode = false, has_pos = false, has_file = false;
            if (!r.eat('}')) {
                for (;;) {
                    std::string key;
                    if (!r.string(key) || !r.eat(':')) return corrupt_at(r, "expected a key");
                    if (key == "inode") {
                        if (!r.number(p.inode)) return corrupt_at(r, "expected an inode number");
                        has_inode = true;
                    } else if (key == "pos") {
                        if (!r.number(p.pos)) return corrupt_at(r, "expected a position");
                        has_pos = true;
                    } else if (key == "file") {
                        if (!r.string(p.file)) return corrupt_at(r, "expected a file name");
                        has_file = true;
                    } else if (!r.skip_value()) {
                        return corrupt_at(r, "bad value");
                    }
                    if (r.eat('}')) break;
                    if (!r.eat(',')) return corrupt_at(r, "expected ',' or '}'");
                }
            }
            if (!has_inode || !has_pos || !has_file)
                return Status(errc::corrupt, "Detected missing value in position file. inode: " +
                                                 (has_inode ? std::to_string(p.inode) : "null") +
                                                 ", pos: " + (has_pos ? std::to_string(p.pos) : "null") +
                                                 ", path: " + (has_file ? p.file : "null"));
            out.push_back(std::move(p));
            if (r.eat(']')) break;
            if (!r.eat(',')) return corrupt_at(r, "expected ',' or ']'");
        }
    }
    if (!r.at_end()) return corrupt_at(r, "unexpected text after the array");
    return out;
}

std::string format_position_file(const std::vector<TailPosition>& positions) {
    std::string out = "[";
    for (size_t i = 0; i < positions.size(); i++) {
        const auto& p = positions[i];
        if (i) out += ',';
        out += "{\"inode\":" + std::to_string(p.inode) + ",\"pos\":" + std::to_string(p.pos) + ",\"file\":\"";
        for (char c : p.file) {
            unsigned char u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (u < 0x20) {
                char b[8];
                snprintf(b, sizeof(b), "\\u%04x", u);
                out += b;
            } else {
                out += c;
            }
        }
        out += "\"}";
    }
    out += "]";
    return out;
}

}  // namespace sluice
