// SPDX-License-Identifier: Apache-2.0
#include "core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/assert.h"

namespace sluice {

namespace {
pcre2_code* code_of(void* p) { return static_cast<pcre2_code*>(p); }
pcre2_match_data* match_of(void* p) { return static_cast<pcre2_match_data*>(p); }
}  // namespace

Result<std::unique_ptr<Regex>> Regex::compile(std::string_view pattern) {
    pcre2_compile_context* cctx = pcre2_compile_context_create(nullptr);
    // Java's `.` and `$` know \n, \r\n, \r, U+0085, U+2028 and U+2029 as line ends.
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANY);
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &err_off, cctx);
    pcre2_compile_context_free(cctx);
    if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof(buf));
        return Status(errc::config, "invalid regex '" + std::string(pattern) + "': " +
                                        reinterpret_cast<const char*>(buf) + " at offset " + std::to_string(err_off));
    }
    // JIT is an optimisation only: without it (not built in, no executable
    // memory) matching is interpreted.
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    std::unique_ptr<Regex> re(new Regex());
    re->_code = code;
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    re->_groups = groups;
    re->_match = pcre2_match_data_create_from_pattern(code, nullptr);
    SLUICE_ASSERT(re->_match != nullptr, "pcre2 match data");
    return re;
}

Regex::~Regex() {
    if (_match) pcre2_match_data_free(match_of(_match));
    if (_code) pcre2_code_free(code_of(_code));
}

bool Regex::run(std::string_view subject, size_t from, uint32_t options) {
    int rc = pcre2_match(code_of(_code), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), from, options,
                         match_of(_match), nullptr);
    // No match, or an error (match limit on a pathological pattern): as no match.
    _matched = rc >= 0;
    return _matched;
}

bool Regex::find(std::string_view subject, size_t from) { return run(subject, from, 0); }

bool Regex::matches(std::string_view subject) { return run(subject, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED); }

bool Regex::group(uint32_t i, size_t* begin, size_t* end) const {
    if (!_matched || i > _groups) return false;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_of(_match));
    if (i >= pcre2_get_ovector_count(match_of(_match)) || ov[2 * i] == PCRE2_UNSET) return false;
    *begin = ov[2 * i];
    *end = ov[2 * i + 1];
    return true;
}

int Regex::group_number(std::string_view name) const {
    std::string n(name);
    int rc = pcre2_substring_number_from_name(code_of(_code), reinterpret_cast<PCRE2_SPTR>(n.c_str()));
    return rc < 0 ? -1 : rc;
}

Result<std::vector<Regex::ReplacementPiece>> Regex::parse_replacement(std::string_view r) const {
    std::vector<ReplacementPiece> out;
    auto literal = [&](std::string_view s) {
        if (out.empty() || out.back().group >= 0) out.push_back({});
        out.back().literal.append(s);
    };
    auto bad = [&](const std::string& why) {
        return Status(errc::config, "invalid replacement '" + std::string(r) + "': " + why);
    };
    for (size_t i = 0; i < r.size();) {
        char c = r[i];
        if (c == '\\') {
            if (i + 1 >= r.size()) return bad("character to be escaped is missing");
            literal(r.substr(i + 1, 1));
            i += 2;
        } else if (c == '$') {
            if (i + 1 >= r.size()) return bad("group index is missing after '$'");
            if (r[i + 1] == '{') {
                size_t close = r.find('}', i + 2);
                if (close == std::string_view::npos) return bad("named group reference is missing '}'");
                std::string_view name = r.substr(i + 2, close - i - 2);
                int g = group_number(name);
                if (g < 0) return bad("no group named '" + std::string(name) + "'");
                out.push_back({{}, g});
                i = close + 1;
            } else {
                if (r[i + 1] < '0' || r[i + 1] > '9') return bad("illegal group reference after '$'");
                // Java: the first digit always, further digits while the number
                // still names a group of the pattern.
                uint32_t g = uint32_t(r[i + 1] - '0');
                i += 2;
                while (i < r.size() && r[i] >= '0' && r[i] <= '9') {
                    uint32_t next = g * 10 + uint32_t(r[i] - '0');
                    if (next > _groups) break;
                    g = next;
                    i++;
                }
                if (g > _groups) return bad("no group " + std::to_string(g));
                out.push_back({{}, int(g)});
            }
        } else {
            literal(r.substr(i, 1));
            i++;
        }
    }
    return out;
}

std::string Regex::replace_all(std::string_view s, const std::vector<ReplacementPiece>& replacement) {
    std::string out;
    size_t append_from = 0, search_from = 0;
    while (search_from <= s.size() && find(s, search_from)) {
        size_t b = 0, e = 0;
        group(0, &b, &e);
        out.append(s.substr(append_from, b - append_from));
        for (const auto& piece : replacement) {
            size_t gb, ge;
            if (piece.group < 0) out += piece.literal;
            else if (group(uint32_t(piece.group), &gb, &ge)) out.append(s.substr(gb, ge - gb));
        }
        append_from = e;
        // Java's find() after an empty match starts one character further.
        search_from = e;
        if (e == b) {
            if (search_from >= s.size()) break;
            search_from++;
            while (search_from < s.size() && (static_cast<unsigned char>(s[search_from]) & 0xC0) == 0x80) search_from++;
        }
    }
    out.append(s.substr(std::min(append_from, s.size())));
    return out;
}

}  // namespace sluice
