// SPDX-License-Identifier: Apache-2.0
// The java.util.Properties grammar (Properties.load / LineReader), restated:
//
//   - Natural lines end at \n, \r or \r\n. Leading ' ', '\t', '\f' are skipped.
//   - A natural line that is blank, or whose first non-blank character is '#'
//     or '!', is a comment; comments never continue onto the next line.
//   - A line ending in an odd number of backslashes continues on the next one:
//     the last backslash is dropped, and so is the leading white space of the
//     continuation line. A blank continuation line ends the logical line.
//   - The key ends at the first unescaped '=', ':' or white space; white space
//     around the separator (and one '=' or ':' after white space) is skipped.
//   - Escapes in keys and values: \t \n \r \f, \uXXXX (written here as UTF-8,
//     surrogate pairs joined), and \c for any other c is c.
//
// Flume then trims key and value (String.trim: every char <= ' '), which we
// do here too. A key written twice keeps its first position and takes the last
// value and the line of that last assignment, as Properties (a hash table)
// would: the last put wins.
#include <string>
#include <unordered_map>

#include "core/config.h"

namespace sluice {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

size_t skip_blanks(std::string_view s, size_t i) {
    while (i < s.size() && is_blank(s[i])) ++i;
    return i;
}

bool odd_trailing_backslashes(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && s[s.size() - 1 - n] == '\\') ++n;
    return n % 2 == 1;
}

std::string_view trim_java(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
    while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
    return s.substr(b, e - b);
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Four hex digits at s[i..i+4), or -1.
int32_t hex4(std::string_view s, size_t i) {
    if (i + 4 > s.size()) return -1;
    int32_t v = 0;
    for (size_t k = i; k < i + 4; ++k) {
        char c = s[k];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

// Properties.loadConvert. `malformed` is set when a \u escape is not followed
// by four hex digits (Java throws; we keep "\u" as text and report it).
std::string unescape(std::string_view s, bool& malformed) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (++i == s.size()) break;  // a lone trailing backslash is dropped
        c = s[i];
        switch (c) {
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 'f': out += '\f'; break;
        case 'u': {
            int32_t cp = hex4(s, i + 1);
            if (cp < 0) {
                malformed = true;
                out += "\\u";
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < s.size() && s[i + 1] == '\\' &&
                s[i + 2] == 'u') {
                int32_t lo = hex4(s, i + 3);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    append_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
                    i += 6;
                    break;
                }
            }
            // A lone surrogate has no UTF-8 form: U+FFFD stands in for it.
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            append_utf8(out, static_cast<uint32_t>(cp));
            break;
        }
        default: out += c; break;
        }
    }
    return out;
}

}  // namespace

std::vector<PropertyLine> parse_properties(std::string_view text, const std::string& file_label,
                                           std::vector<ConfigProblem>& problems) {
    std::vector<PropertyLine> out;
    std::unordered_map<std::string, size_t> index;
    size_t pos = 0;
    int line_no = 0;
    auto next_line = [&](std::string_view& line) {
        if (pos >= text.size()) return false;
        ++line_no;
        size_t end = text.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) {
            line = text.substr(pos);
            pos = text.size();
            return true;
        }
        line = text.substr(pos, end - pos);
        pos = end + 1;
        if (text[end] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
        return true;
    };

    std::string_view natural;
    while (next_line(natural)) {
        size_t i = skip_blanks(natural, 0);
        if (i == natural.size() || natural[i] == '#' || natural[i] == '!') continue;
        const int start_line = line_no;
        std::string_view segment = natural.substr(i);
        std::string logical(segment);
        // Parity is counted per natural line: Java resets its backslash flag
        // where lines are joined.
        while (odd_trailing_backslashes(segment)) {
            logical.pop_back();
            std::string_view cont;
            if (!next_line(cont)) break;
            segment = cont.substr(skip_blanks(cont, 0));
            logical += segment;
        }

        size_t key_end = 0;
        size_t value_start = logical.size();
        bool has_separator = false;
        bool escaped = false;
        for (; key_end < logical.size(); ++key_end) {
            char c = logical[key_end];
            if (!escaped && (c == '=' || c == ':')) {
                value_start = key_end + 1;
                has_separator = true;
                break;
            }
            if (!escaped && is_blank(c)) {
                value_start = key_end + 1;
                break;
            }
            escaped = c == '\\' ? !escaped : false;
        }
        while (value_start < logical.size()) {
            char c = logical[value_start];
            if (!is_blank(c)) {
                if (!has_separator && (c == '=' || c == ':')) has_separator = true;
                else break;
            }
            ++value_start;
        }

        bool malformed = false;
        std::string key(trim_java(unescape(std::string_view(logical).substr(0, key_end), malformed)));
        std::string value(trim_java(unescape(std::string_view(logical).substr(value_start), malformed)));
        if (malformed) {
            problems.push_back({ConfigProblem::Severity::error, file_label, start_line, key,
                                "malformed \\uXXXX escape (four hex digits expected)"});
        }
        auto [it, inserted] = index.emplace(key, out.size());
        if (inserted) {
            out.push_back({std::move(key), std::move(value), start_line});
        } else {
            out[it->second].value = std::move(value);
            out[it->second].line = start_line;
        }
    }
    return out;
}

std::vector<PropertyLine> parse_properties(std::string_view text) {
    std::vector<ConfigProblem> ignored;
    return parse_properties(text, std::string(), ignored);
}

}  // namespace sluice
