// SPDX-License-Identifier: Apache-2.0
// The pipeline language (docs/streams.md §2–3): parsing `ops` text into
// calls, and compiling the calls into a Plan the stream runtime executes.
// Both are pure functions of their input; errors are Status(errc::config)
// whose message starts with "col N: ".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "operators/aggregate.h"
#include "operators/value.h"

namespace sluice::ops {

// ------------------------------------------------------------------ syntax

struct Arg {
    enum class Kind { number, duration, string, call };
    Kind kind = Kind::number;
    Num num;
    int64_t ms = 0;
    std::string text;       // string value, or the call's name
    std::vector<Arg> args;  // call arguments
    bool has_parens = false;
    int col = 0;
};

struct Call {
    std::string name;
    std::vector<Arg> args;
    int col = 0;
};

Result<std::vector<Call>> parse_pipeline(std::string_view text);

// ------------------------------------------------------------------ functions

// Functions and predicates registered by embedders (the C API): named, and
// usable wherever a built-in one is. Registered before the agent starts;
// called on shard threads concurrently, so they must be thread-safe.
struct UserFunctions {
    // Writes the mapped record to `out`; false drops the record.
    std::map<std::string, std::function<bool(std::string_view in, std::string& out)>> maps;
    std::map<std::string, std::function<bool(std::string_view in)>> filters;
};

struct StrFn {
    enum class Kind { lower, upper, trim, split, field, regex, json, header, user } kind = Kind::lower;
    std::string arg;  // separator, json path, header name, user function name
    int64_t index = 0;
    std::shared_ptr<const std::regex> re;
    const std::function<bool(std::string_view, std::string&)>* user = nullptr;
};

struct Pred {
    enum class Kind { contains, matches, eq, non_empty, not_, gt, lt, user } kind = Kind::non_empty;
    std::string arg;
    Num num;
    std::shared_ptr<const std::regex> re;
    std::shared_ptr<const Pred> inner;
    const std::function<bool(std::string_view)>* user = nullptr;
};

struct NumFn {
    enum class Kind { abs, neg, mul, add } kind = Kind::abs;
    Num arg;
};

struct RecordOp {
    enum class Kind { map, flat_map, filter, pair, kv, key_by, map_values, filter_values } kind = Kind::map;
    StrFn fn;
    Pred pred;
    NumFn num_fn;
    Num value;        // pair(v)
    std::string sep;  // kv(sep)
};

// What the batch stage computes. Everything before it runs per record on the
// shard that took the event; this stage runs per batch, keyed ones on the
// key's owner shard.
enum class Stage {
    records,              // no aggregation: records (or pairs) pass through
    count,                // count()
    count_by_value,       // countByValue()
    reduce,               // reduce(agg)
    reduce_by_key,        // reduceByKey(agg)
    group_by_key,         // groupByKey()
    window_records,       // window(W, S) with nothing after it
    count_by_window,      // countByWindow(W, S); window(W,S) | count()
    reduce_by_window,     // reduceByWindow(agg, W, S); window(W,S) | reduce(agg)
    reduce_by_key_window, // reduceByKeyAndWindow(...); window | reduceByKey; countByValueAndWindow
    group_by_key_window,  // groupByKeyAndWindow(W, S); window | groupByKey
    update_state,         // updateStateByKey(f[, ttl(D)])
};

enum class StateFn { sum, count, min, max, last, avg, ewma };

struct Plan {
    std::vector<RecordOp> record_ops;
    bool pairs = false;  // the record stage ends with pairs
    Stage stage = Stage::records;
    Agg agg = Agg::sum;
    bool by_value = false;  // countByValue(AndWindow): the record is the key, value 1
    int64_t window_ms = 0, slide_ms = 0;
    bool inverse = false, drop_zero = false;
    StateFn state_fn = StateFn::sum;
    double alpha = 0;
    int64_t ttl_ms = 0;
    std::vector<RecordOp> post_ops;  // mapValues / filterValues on keyed results
    int64_t top_k = 0;               // 0: none

    bool keyed() const {
        return stage == Stage::count_by_value || stage == Stage::reduce_by_key || stage == Stage::group_by_key ||
               stage == Stage::reduce_by_key_window || stage == Stage::group_by_key_window ||
               stage == Stage::update_state;
    }
    bool windowed() const { return window_ms > 0; }
};

// `batch_ms`: the stream's batch interval (windows must be multiples of it).
Result<Plan> compile_pipeline(std::string_view text, int64_t batch_ms, const UserFunctions* user = nullptr);

// The names the language knows, for suggestions and docs.
const std::vector<std::string_view>& operator_names();

// ------------------------------------------------------------------ evaluation

// Applies a string function; false drops the record. `scratch` holds any new
// string; the result view points into the input, `scratch`, or the event.
bool apply_str_fn(const StrFn& f, std::string_view in, const EventView* event, std::string& scratch,
                  std::string_view* out);
bool apply_pred(const Pred& p, std::string_view in);
Num apply_num_fn(const NumFn& f, Num x);
// The value at a dotted path of a JSON text (strings unquoted); false if absent.
bool json_path(std::string_view json, std::string_view path, std::string& out);

}  // namespace sluice::ops
