// SPDX-License-Identifier: Apache-2.0
// Regular expressions with Java's syntax and meaning, as far as Flume users
// rely on them (interceptors, reference/flume.md §2.4): PCRE2, whose syntax is
// Java's for everything common (classes, quantifiers incl. possessive, groups,
// named groups, lookaround, inline flags such as (?i), \Q...\E), with `.`
// and `$` treating every Java line terminator as one. Bodies are UTF-8;
// bytes that are not valid UTF-8 never match anything.
//
// A Regex is immutable after compile() except for its match buffer: one
// instance is used by one thread (each shard builds its own interceptors).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

class Regex {
public:
    // A config error with PCRE2's reason and the offset when the pattern is bad.
    static Result<std::unique_ptr<Regex>> compile(std::string_view pattern);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Java's Matcher.find(): the first match starting at or after `from`.
    // On success group(i) are valid until the next call.
    bool find(std::string_view subject, size_t from = 0);
    // Java's Matcher.matches(): the whole subject.
    bool matches(std::string_view subject);
    // Capturing groups in the pattern (group 0 not counted).
    uint32_t group_count() const { return _groups; }
    // Group i of the last successful find/matches; false when it did not take part.
    bool group(uint32_t i, size_t* begin, size_t* end) const;
    // The number of a named group, or -1.
    int group_number(std::string_view name) const;

    // Java's String.replaceAll(regex, replacement) with a replacement already
    // parsed by parse_replacement().
    struct ReplacementPiece {
        std::string literal;  // used when group < 0
        int group = -1;
    };
    std::string replace_all(std::string_view subject, const std::vector<ReplacementPiece>& replacement);
    // Java's replacement syntax: `$n` and `${name}` insert a group, `\x` is x.
    // Errors (as Java's at run time, here at configuration): a reference to
    // a group the pattern does not have, a trailing `$` or `\`.
    Result<std::vector<ReplacementPiece>> parse_replacement(std::string_view replacement) const;

private:
    Regex() = default;
    bool run(std::string_view subject, size_t from, uint32_t options);
    void* _code = nullptr;   // pcre2_code_8
    void* _match = nullptr;  // pcre2_match_data_8
    uint32_t _groups = 0;
    bool _matched = false;
};

}  // namespace sluice
