// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the TAILDIR position file parser and the charset decoding
// of the file sources (io/file_source_util.h). Traps on a broken invariant:
//   - a parsed position file formats to text that parses to the same entries,
//     and formatting that again gives the same text;
//   - decode_to_utf8 with REPLACE or IGNORE never fails and gives valid UTF-8
//     (decoding it again with FAIL succeeds and changes nothing); with FAIL it
//     succeeds exactly when REPLACE changed nothing;
//   - bytes_for_chars never covers more than the input and stops at the
//     requested count (or one more, for a surrogate pair).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "io/file_source_util.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace sluice;
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto parsed = parse_position_file(text)) {
        std::string formatted = format_position_file(parsed.value());
        auto again = parse_position_file(formatted);
        check(again.is_ok());
        check(again->size() == parsed->size());
        for (size_t i = 0; i < parsed->size(); i++) {
            check((*again)[i].inode == (*parsed)[i].inode);
            check((*again)[i].pos == (*parsed)[i].pos);
            check((*again)[i].file == (*parsed)[i].file);
        }
        check(format_position_file(again.value()) == formatted);
    }

    for (charset cs : {charset::utf8, charset::latin1, charset::ascii}) {
        std::string replaced, ignored, strict, recheck;
        check(decode_to_utf8(text, cs, decode_policy::replace, replaced));
        check(decode_to_utf8(text, cs, decode_policy::ignore, ignored));
        check(decode_to_utf8(replaced, charset::utf8, decode_policy::fail, recheck) && recheck == replaced);
        recheck.clear();
        check(decode_to_utf8(ignored, charset::utf8, decode_policy::fail, recheck) && recheck == ignored);
        bool ok = decode_to_utf8(text, cs, decode_policy::fail, strict);
        check(ok == (ignored.size() == replaced.size()));
        if (ok) check(strict == replaced);

        size_t max_chars = size == 0 ? 0 : data[0] % 64;
        size_t chars = 0;
        size_t bytes = bytes_for_chars(text, cs, max_chars, &chars);
        check(bytes <= size);
        check(chars <= max_chars + 1);
        if (bytes < size) check(chars >= max_chars);
    }
    return 0;
}
