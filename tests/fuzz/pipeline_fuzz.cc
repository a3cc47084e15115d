// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the pipeline language (a stream's `ops` value).
// Input: PIPELINE [ '\0' RECORD ]. The pipeline is parsed and compiled with a
// 1 s batch; when it compiles and a record follows, every record operator is
// applied to the record on its own (as the stream's shards do, one record at
// a time), and json_path is tried on the record with each json(...) path.
// Regular expressions are compiled but not run on records: std::regex
// backtracks, so a hostile pattern is slow by design, not a bug here.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/event.h"
#include "operators/pipeline.h"

namespace {

using namespace sluice::ops;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

bool uses_regex(const Pred& p) {
    if (p.kind == Pred::Kind::matches) return true;
    if (p.kind == Pred::Kind::not_ && p.inner) return uses_regex(*p.inner);
    return false;
}

// `out` must point into the input, into `scratch`, or into the event.
bool inside(std::string_view out, std::string_view in, const std::string& scratch, const sluice::EventBatch& b) {
    auto within = [&](const char* base, size_t n) {
        return out.empty() || (out.data() >= base && out.data() + out.size() <= base + n);
    };
    return within(in.data(), in.size()) || within(scratch.data(), scratch.size()) ||
           within(b.arena_data(), b.body_bytes() + 4096 /* headers follow bodies */);
}

void run_str_fn(const StrFn& f, std::string_view rec, const sluice::EventBatch& batch) {
    if (f.kind == StrFn::Kind::regex || f.kind == StrFn::Kind::split || f.kind == StrFn::Kind::user) return;
    sluice::EventView ev = batch[0];
    std::string scratch;
    std::string_view out;
    if (apply_str_fn(f, rec, &ev, scratch, &out)) check(inside(out, rec, scratch, batch));
    if (f.kind == StrFn::Kind::json) {
        std::string value;
        (void)json_path(rec, f.arg, value);
    }
}

void run_ops(const std::vector<RecordOp>& ops, std::string_view rec, const sluice::EventBatch& batch) {
    for (const auto& op : ops) {
        switch (op.kind) {
        case RecordOp::Kind::map:
        case RecordOp::Kind::flat_map:
        case RecordOp::Kind::key_by: run_str_fn(op.fn, rec, batch); break;
        case RecordOp::Kind::filter:
        case RecordOp::Kind::filter_values:
            if (!uses_regex(op.pred)) (void)apply_pred(op.pred, rec);
            break;
        case RecordOp::Kind::map_values: {
            Num x;
            if (parse_num(rec, &x)) (void)format_num(apply_num_fn(op.num_fn, x));
            break;
        }
        case RecordOp::Kind::pair:
        case RecordOp::Kind::kv: break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* p = reinterpret_cast<const char*>(data);
    const void* nul = std::memchr(p, 0, size);
    size_t text_len = nul ? size_t(static_cast<const char*>(nul) - p) : size;
    std::string_view text(p, text_len);

    auto calls = parse_pipeline(text);
    auto plan = compile_pipeline(text, 1000);
    // compile_pipeline parses first: a parse error is its error too.
    check(calls.is_ok() || !plan.is_ok());
    // Errors are config errors whose message starts "col N: " (pipeline.h).
    for (const sluice::Status& st : {calls.status(), plan.status()}) {
        if (st.is_ok()) continue;
        check(st.code() == sluice::errc::config);
        const std::string& m = st.message();
        size_t i = 4;
        check(m.compare(0, 4, "col ") == 0);
        while (i < m.size() && m[i] >= '0' && m[i] <= '9') ++i;
        check(i > 4 && m.compare(i, 2, ": ") == 0);
    }
    if (!plan.is_ok() || !nul) return 0;

    // The record is the rest of the input, so a read past its end is a read
    // past libFuzzer's buffer (which ASan reports).
    std::string_view rec(p + text_len + 1, size - text_len - 1);
    sluice::EventBatch batch;
    batch.add(rec);
    batch.add_header("k", rec.substr(0, rec.size() / 2));
    batch.add_header(rec.substr(rec.size() / 2), "v");
    run_ops(plan.value().record_ops, rec, batch);
    run_ops(plan.value().post_ops, rec, batch);
    return 0;
}
