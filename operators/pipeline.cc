// SPDX-License-Identifier: Apache-2.0
#include "operators/pipeline.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/registry.h"

namespace sluice::ops {

namespace {

Status err(int col, const std::string& msg) { return Status(errc::config, "col " + std::to_string(col) + ": " + msg); }

// ------------------------------------------------------------------ parser

class Parser {
public:
    explicit Parser(std::string_view t) : _t(t) {}

    Result<std::vector<Call>> pipeline() {
        std::vector<Call> calls;
        skip_ws();
        if (at_end()) return err(col(), "empty pipeline: expected an operator");
        for (;;) {
            auto c = call();
            if (!c) return c.status();
            calls.push_back(std::move(c.value()));
            skip_ws();
            if (at_end()) break;
            if (_t[_p] != '|') return err(col(), std::string("expected '|' or the end, found '") + _t[_p] + "'");
            _p++;
            skip_ws();
            if (at_end()) return err(col(), "expected an operator after '|'");
        }
        return calls;
    }

private:
    bool at_end() const { return _p >= _t.size(); }
    int col() const { return int(_p) + 1; }
    void skip_ws() {
        while (!at_end() && std::isspace(static_cast<unsigned char>(_t[_p]))) _p++;
    }
    bool ident_char(char c) const { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

    Result<Call> call() {
        Call c;
        c.col = col();
        if (at_end() || !(std::isalpha(static_cast<unsigned char>(_t[_p])) || _t[_p] == '_'))
            return err(col(), "expected an operator name");
        size_t start = _p;
        while (!at_end() && ident_char(_t[_p])) _p++;
        c.name = std::string(_t.substr(start, _p - start));
        skip_ws();
        if (!at_end() && _t[_p] == '(') {
            auto args = arg_list();
            if (!args) return args.status();
            c.args = std::move(args.value());
        }
        return c;
    }

    Result<std::vector<Arg>> arg_list() {
        std::vector<Arg> args;
        _p++;  // '('
        skip_ws();
        if (!at_end() && _t[_p] == ')') {
            _p++;
            return args;
        }
        for (;;) {
            skip_ws();
            auto a = arg();
            if (!a) return a.status();
            args.push_back(std::move(a.value()));
            skip_ws();
            if (at_end()) return err(col(), "expected ',' or ')' before the end");
            if (_t[_p] == ')') {
                _p++;
                return args;
            }
            if (_t[_p] != ',') return err(col(), std::string("expected ',' or ')', found '") + _t[_p] + "'");
            _p++;
        }
    }

    Result<Arg> arg() {
        Arg a;
        a.col = col();
        if (at_end()) return err(col(), "expected an argument");
        char c = _t[_p];
        if (c == '"') return string_arg();
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
            size_t start = _p;
            if (c == '-') _p++;
            while (!at_end() && (std::isdigit(static_cast<unsigned char>(_t[_p])) || _t[_p] == '.')) _p++;
            if (!at_end() && (_t[_p] == 'e' || _t[_p] == 'E') && _p + 1 < _t.size() &&
                (std::isdigit(static_cast<unsigned char>(_t[_p + 1])) || _t[_p + 1] == '-' || _t[_p + 1] == '+')) {
                _p += 2;
                while (!at_end() && std::isdigit(static_cast<unsigned char>(_t[_p]))) _p++;
            }
            std::string_view number = _t.substr(start, _p - start);
            size_t unit_start = _p;
            while (!at_end() && std::isalpha(static_cast<unsigned char>(_t[_p]))) _p++;
            std::string_view unit = _t.substr(unit_start, _p - unit_start);
            if (!unit.empty()) {
                auto ms = parse_duration_ms(std::string(number) + std::string(unit), 1);
                if (!ms) return err(a.col, "'" + std::string(number) + std::string(unit) + "' is not a duration (use ms, s, m or h)");
                a.kind = Arg::Kind::duration;
                a.ms = ms.value();
                return a;
            }
            if (!parse_num(number, &a.num)) return err(a.col, "'" + std::string(number) + "' is not a number");
            a.kind = Arg::Kind::number;
            return a;
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            auto sub = call();
            if (!sub) return sub.status();
            a.kind = Arg::Kind::call;
            a.text = std::move(sub->name);
            a.has_parens = _t[_p - 1] == ')';
            a.args = std::move(sub->args);
            return a;
        }
        return err(col(), std::string("expected a number, a duration, a string or a function, found '") + c + "'");
    }

    Result<Arg> string_arg() {
        Arg a;
        a.col = col();
        a.kind = Arg::Kind::string;
        _p++;
        while (!at_end() && _t[_p] != '"') {
            if (_t[_p] == '\\') {
                if (_p + 1 >= _t.size()) break;
                char e = _t[_p + 1];
                switch (e) {
                case 'n': a.text += '\n'; break;
                case 't': a.text += '\t'; break;
                case 'r': a.text += '\r'; break;
                case '"': a.text += '"'; break;
                case '\\': a.text += '\\'; break;
                default: return err(col(), std::string("unknown escape '\\") + e + "'");
                }
                _p += 2;
                continue;
            }
            a.text += _t[_p++];
        }
        if (at_end()) return err(a.col, "unterminated string");
        _p++;
        return a;
    }

    std::string_view _t;
    size_t _p = 0;
};

// ------------------------------------------------------------------ compiler

const std::vector<std::string_view> str_fn_names = {"lower", "upper", "trim", "split", "field", "regex", "json", "header"};
const std::vector<std::string_view> pred_names = {"contains", "matches", "eq", "nonEmpty", "not", "gt", "lt"};
const std::vector<std::string_view> num_fn_names = {"abs", "neg", "mul", "add"};

// std::regex (libstdc++) overflows on huge repetition counts such as
// {99999999999}: refuse counts over 1000 before it sees them.
Status check_regex_limits(const Arg& a) {
    const std::string& re = a.text;
    for (size_t i = 0; i < re.size(); i++) {
        if (re[i] == '\\') {
            i++;
            continue;
        }
        if (re[i] != '{') continue;
        size_t j = i + 1, digits = 0;
        uint64_t n = 0;
        while (j < re.size() && (std::isdigit(static_cast<unsigned char>(re[j])) || re[j] == ',')) {
            if (re[j] == ',') {
                n = 0;
                digits = 0;
            } else {
                digits++;
                n = digits > 6 ? UINT64_MAX : n * 10 + uint64_t(re[j] - '0');
                if (n > 1000) return err(a.col, "regex: repetition counts above 1000 are not supported");
            }
            j++;
        }
    }
    return Status::ok();
}

std::string suggest(std::string_view word, const std::vector<std::string_view>& names) {
    auto n = nearest(word, names);
    return n.empty() ? "" : " — did you mean '" + std::string(n) + "'?";
}

class Compiler {
public:
    Compiler(int64_t batch_ms, const UserFunctions* user) : _batch_ms(batch_ms), _user(user) {}

    Result<Plan> compile(const std::vector<Call>& calls) {
        Plan plan;
        bool pairs = false;
        bool aggregated = false;
        int64_t pending_window = 0, pending_slide = 0;
        int window_col = 0;
        for (size_t i = 0; i < calls.size(); i++) {
            const Call& c = calls[i];
            const std::string& n = c.name;
            auto& target_ops = aggregated ? plan.post_ops : plan.record_ops;
            if (n == "map" || n == "flatMap" || n == "filter") {
                if (aggregated) return err(c.col, "'" + n + "' after an aggregation is not supported; use mapValues or filterValues");
                if (pairs) return err(c.col, "'" + n + "' takes records, but the stream has pairs here; use mapValues or filterValues");
                if (Status st = arity(c, 1, 1); !st) return st;
                RecordOp op;
                if (n == "filter") {
                    op.kind = RecordOp::Kind::filter;
                    auto p = pred(c.args[0]);
                    if (!p) return p.status();
                    op.pred = std::move(p.value());
                } else {
                    op.kind = n == "map" ? RecordOp::Kind::map : RecordOp::Kind::flat_map;
                    auto f = str_fn(c.args[0], n == "flatMap");
                    if (!f) return f.status();
                    op.fn = std::move(f.value());
                }
                target_ops.push_back(std::move(op));
            } else if (n == "pair" || n == "kv" || n == "keyBy") {
                if (aggregated || pairs) return err(c.col, "'" + n + "' takes records, but the stream has pairs here");
                if (Status st = arity(c, 1, 1); !st) return st;
                RecordOp op;
                if (n == "pair") {
                    op.kind = RecordOp::Kind::pair;
                    if (c.args[0].kind != Arg::Kind::number) return err(c.args[0].col, "pair: expected a number");
                    op.value = c.args[0].num;
                } else if (n == "kv") {
                    op.kind = RecordOp::Kind::kv;
                    if (c.args[0].kind != Arg::Kind::string || c.args[0].text.empty())
                        return err(c.args[0].col, "kv: expected a separator string");
                    op.sep = c.args[0].text;
                } else {
                    op.kind = RecordOp::Kind::key_by;
                    auto f = str_fn(c.args[0], false);
                    if (!f) return f.status();
                    op.fn = std::move(f.value());
                }
                target_ops.push_back(std::move(op));
                pairs = true;
            } else if (n == "mapValues" || n == "filterValues") {
                if (!pairs) return err(c.col, "'" + n + "' takes pairs; make them first with pair, kv or keyBy");
                if (aggregated && (plan.stage == Stage::group_by_key || plan.stage == Stage::group_by_key_window))
                    return err(c.col, "'" + n + "' takes numeric values, but groupByKey makes lists");
                if (Status st = arity(c, 1, 1); !st) return st;
                RecordOp op;
                if (n == "mapValues") {
                    op.kind = RecordOp::Kind::map_values;
                    auto f = num_fn(c.args[0]);
                    if (!f) return f.status();
                    op.num_fn = f.value();
                } else {
                    op.kind = RecordOp::Kind::filter_values;
                    auto p = pred(c.args[0]);
                    if (!p) return p.status();
                    if (p->kind != Pred::Kind::gt && p->kind != Pred::Kind::lt && p->kind != Pred::Kind::not_)
                        return err(c.args[0].col, "filterValues: expected gt(n), lt(n) or not(...)");
                    op.pred = std::move(p.value());
                }
                target_ops.push_back(std::move(op));
            } else if (n == "topK") {
                if (!aggregated || !plan.keyed()) return err(c.col, "topK ranks the keyed results of a batch; put it after a keyed aggregation");
                if (Status st = arity(c, 1, 1); !st) return st;
                if (c.args[0].kind != Arg::Kind::number || !c.args[0].num.is_int || c.args[0].num.i < 1)
                    return err(c.args[0].col, "topK: expected a positive integer");
                plan.top_k = c.args[0].num.i;
                if (i + 1 < calls.size()) return err(calls[i + 1].col, "nothing may follow topK");
            } else if (n == "window") {
                if (aggregated) return err(c.col, "window after an aggregation is not supported; use the windowed operator");
                if (Status st = arity(c, 1, 2); !st) return st;
                auto w = window_args(c, 0);
                if (!w) return w.status();
                pending_window = w->first;
                pending_slide = w->second;
                window_col = c.col;
            } else if (is_aggregation(n)) {
                if (aggregated) return err(c.col, "only one aggregation per stream; '" + n + "' follows another");
                bool windowed_form = n.find("Window") != std::string::npos || n.find("AndWindow") != std::string::npos;
                if (pending_window && windowed_form) return err(c.col, "'" + n + "' after window(...): give the window once");
                Status st = aggregation(c, plan, pairs, pending_window, pending_slide);
                if (!st) return st;
                aggregated = true;
                pairs = plan.keyed();
                pending_window = 0;
            } else {
                std::vector<std::string_view> all = operator_names();
                return err(c.col, "unknown operator '" + n + "'" + suggest(n, all));
            }
        }
        if (pending_window) {
            plan.stage = Stage::window_records;
            plan.window_ms = pending_window;
            plan.slide_ms = pending_slide;
            (void)window_col;
        }
        plan.pairs = pairs && !aggregated ? true : plan.pairs;
        if (!aggregated) plan.pairs = pairs;
        return plan;
    }

private:
    static bool is_aggregation(const std::string& n) {
        static const std::vector<std::string_view> names = {
            "count", "countByValue", "reduce", "reduceByKey", "groupByKey", "countByWindow", "reduceByWindow",
            "reduceByKeyAndWindow", "countByValueAndWindow", "groupByKeyAndWindow", "updateStateByKey"};
        return std::find(names.begin(), names.end(), n) != names.end();
    }

    Status arity(const Call& c, size_t min, size_t max) {
        if (c.args.size() < min || c.args.size() > max) {
            std::string want = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
            return err(c.col, c.name + ": expected " + want + " argument" + (max == 1 ? "" : "s") + ", got " +
                                  std::to_string(c.args.size()));
        }
        return Status::ok();
    }

    Result<int64_t> duration(const Arg& a, const char* what) {
        if (a.kind != Arg::Kind::duration) return err(a.col, std::string(what) + ": expected a duration such as 10s");
        if (a.ms <= 0) return err(a.col, std::string(what) + " must be positive");
        if (a.ms % _batch_ms != 0)
            return err(a.col, std::string(what) + " " + std::to_string(a.ms) + "ms is not a multiple of the batch interval " +
                                  std::to_string(_batch_ms) + "ms");
        return a.ms;
    }

    // W[, S] starting at argument `first`.
    Result<std::pair<int64_t, int64_t>> window_args(const Call& c, size_t first) {
        auto w = duration(c.args[first], "window");
        if (!w) return w.status();
        int64_t s = _batch_ms;
        if (c.args.size() > first + 1 && c.args[first + 1].kind == Arg::Kind::duration) {
            auto sl = duration(c.args[first + 1], "slide");
            if (!sl) return sl.status();
            s = sl.value();
        }
        return std::make_pair(w.value(), s);
    }

    Result<Agg> agg_arg(const Arg& a) {
        Agg g;
        if (a.kind != Arg::Kind::call || a.has_parens || !parse_agg(a.text, &g))
            return err(a.col, "expected an aggregate (sum, min, max, count, avg, first, last)" +
                                  (a.kind == Arg::Kind::call ? suggest(a.text, agg_names()) : std::string()));
        return g;
    }

    Status aggregation(const Call& c, Plan& plan, bool pairs, int64_t win, int64_t slide) {
        const std::string& n = c.name;
        auto need_pairs = [&]() -> Status {
            if (!pairs) return err(c.col, "'" + n + "' takes pairs; make them first with pair, kv or keyBy");
            return Status::ok();
        };
        plan.window_ms = win;
        plan.slide_ms = slide;
        if (n == "count") {
            if (Status st = arity(c, 0, 0); !st) return st;
            plan.stage = win ? Stage::count_by_window : Stage::count;
        } else if (n == "countByValue") {
            if (Status st = arity(c, 0, 0); !st) return st;
            if (pairs) return err(c.col, "countByValue takes records, but the stream has pairs here");
            plan.stage = win ? Stage::reduce_by_key_window : Stage::count_by_value;
            plan.by_value = true;
            plan.agg = Agg::count;
        } else if (n == "reduce") {
            if (Status st = arity(c, 1, 1); !st) return st;
            auto g = agg_arg(c.args[0]);
            if (!g) return g.status();
            plan.agg = g.value();
            plan.stage = win ? Stage::reduce_by_window : Stage::reduce;
        } else if (n == "reduceByKey") {
            if (Status st = need_pairs(); !st) return st;
            if (Status st = arity(c, 1, 1); !st) return st;
            auto g = agg_arg(c.args[0]);
            if (!g) return g.status();
            plan.agg = g.value();
            plan.stage = win ? Stage::reduce_by_key_window : Stage::reduce_by_key;
        } else if (n == "groupByKey") {
            if (Status st = need_pairs(); !st) return st;
            if (Status st = arity(c, 0, 0); !st) return st;
            plan.stage = win ? Stage::group_by_key_window : Stage::group_by_key;
        } else if (n == "countByWindow") {
            if (Status st = arity(c, 2, 2); !st) return st;
            auto w = window_args(c, 0);
            if (!w) return w.status();
            plan.window_ms = w->first;
            plan.slide_ms = w->second;
            plan.stage = Stage::count_by_window;
        } else if (n == "reduceByWindow") {
            if (Status st = arity(c, 3, 3); !st) return st;
            auto g = agg_arg(c.args[0]);
            if (!g) return g.status();
            auto w = window_args(c, 1);
            if (!w) return w.status();
            plan.agg = g.value();
            plan.window_ms = w->first;
            plan.slide_ms = w->second;
            plan.stage = Stage::reduce_by_window;
        } else if (n == "reduceByKeyAndWindow") {
            if (Status st = need_pairs(); !st) return st;
            if (c.args.size() < 2 || c.args.size() > 5) return arity(c, 2, 5);
            auto g = agg_arg(c.args[0]);
            if (!g) return g.status();
            auto w = window_args(c, 1);
            if (!w) return w.status();
            plan.agg = g.value();
            plan.window_ms = w->first;
            plan.slide_ms = w->second;
            for (size_t i = 2; i < c.args.size(); i++) {
                const Arg& a = c.args[i];
                if (i == 2 && a.kind == Arg::Kind::duration) continue;  // the slide
                if (a.kind == Arg::Kind::call && !a.has_parens && a.text == "inverse") plan.inverse = true;
                else if (a.kind == Arg::Kind::call && !a.has_parens && a.text == "dropZero") plan.drop_zero = true;
                else return err(a.col, "reduceByKeyAndWindow: expected inverse or dropZero" +
                                           (a.kind == Arg::Kind::call ? suggest(a.text, {"inverse", "dropZero"}) : std::string()));
            }
            if (plan.inverse && !agg_invertible(plan.agg))
                return err(c.args[0].col, "inverse needs an aggregate that can be subtracted (sum, count or avg)");
            if (plan.drop_zero && !plan.inverse) return err(c.col, "dropZero needs inverse (without it, keys leave the window by themselves)");
            if (plan.inverse && plan.slide_ms > plan.window_ms)
                return err(c.col, "inverse needs the slide to be at most the window");
            plan.stage = Stage::reduce_by_key_window;
        } else if (n == "countByValueAndWindow") {
            if (pairs) return err(c.col, "countByValueAndWindow takes records, but the stream has pairs here");
            if (Status st = arity(c, 2, 2); !st) return st;
            auto w = window_args(c, 0);
            if (!w) return w.status();
            plan.window_ms = w->first;
            plan.slide_ms = w->second;
            plan.by_value = true;
            plan.agg = Agg::count;
            // Spark: incremental with a filter on count != 0.
            plan.inverse = plan.slide_ms <= plan.window_ms;
            plan.drop_zero = true;
            plan.stage = Stage::reduce_by_key_window;
        } else if (n == "groupByKeyAndWindow") {
            if (Status st = need_pairs(); !st) return st;
            if (Status st = arity(c, 2, 2); !st) return st;
            auto w = window_args(c, 0);
            if (!w) return w.status();
            plan.window_ms = w->first;
            plan.slide_ms = w->second;
            plan.stage = Stage::group_by_key_window;
        } else if (n == "updateStateByKey") {
            if (Status st = need_pairs(); !st) return st;
            if (Status st = arity(c, 1, 2); !st) return st;
            const Arg& f = c.args[0];
            static const std::vector<std::string_view> fns = {"sum", "count", "min", "max", "last", "avg", "ewma"};
            if (f.kind != Arg::Kind::call) return err(f.col, "updateStateByKey: expected sum, count, min, max, last, avg or ewma(alpha)");
            if (f.text == "sum") plan.state_fn = StateFn::sum;
            else if (f.text == "count") plan.state_fn = StateFn::count;
            else if (f.text == "min") plan.state_fn = StateFn::min;
            else if (f.text == "max") plan.state_fn = StateFn::max;
            else if (f.text == "last") plan.state_fn = StateFn::last;
            else if (f.text == "avg") plan.state_fn = StateFn::avg;
            else if (f.text == "ewma") {
                if (f.args.size() != 1 || f.args[0].kind != Arg::Kind::number)
                    return err(f.col, "ewma: expected one number, the smoothing factor alpha");
                plan.alpha = f.args[0].num.as_double();
                if (!(plan.alpha >= 0 && plan.alpha <= 1)) return err(f.args[0].col, "ewma: alpha must be between 0 and 1");
                plan.state_fn = StateFn::ewma;
            } else {
                return err(f.col, "updateStateByKey: unknown function '" + f.text + "'" + suggest(f.text, fns));
            }
            if (c.args.size() == 2) {
                const Arg& t = c.args[1];
                if (t.kind != Arg::Kind::call || t.text != "ttl" || t.args.size() != 1 || t.args[0].kind != Arg::Kind::duration)
                    return err(t.col, "updateStateByKey: expected ttl(D) as the second argument");
                plan.ttl_ms = t.args[0].ms;
                if (plan.ttl_ms <= 0) return err(t.args[0].col, "ttl must be positive");
            }
            if (win) return err(c.col, "updateStateByKey after window(...) is not supported");
            plan.stage = Stage::update_state;
        }
        return Status::ok();
    }

    Result<StrFn> str_fn(const Arg& a, bool flat) {
        StrFn f;
        if (a.kind != Arg::Kind::call) return err(a.col, "expected a function (lower, upper, trim, split, field, regex, json, header)");
        const std::string& n = a.text;
        auto want = [&](size_t k) -> Status {
            if (a.args.size() != k) return err(a.col, n + ": expected " + std::to_string(k) + " argument" + (k == 1 ? "" : "s"));
            return Status::ok();
        };
        auto str_at = [&](size_t i) -> Result<std::string> {
            if (a.args[i].kind != Arg::Kind::string) return err(a.args[i].col, n + ": expected a string");
            return a.args[i].text;
        };
        if (n == "lower" || n == "upper" || n == "trim") {
            if (Status st = want(0); !st) return st;
            f.kind = n == "lower" ? StrFn::Kind::lower : n == "upper" ? StrFn::Kind::upper : StrFn::Kind::trim;
        } else if (n == "split") {
            if (!flat) return err(a.col, "split makes several records: use it with flatMap");
            if (Status st = want(1); !st) return st;
            auto s = str_at(0);
            if (!s) return s.status();
            if (s->empty()) return err(a.args[0].col, "split: the separator must not be empty");
            f.kind = StrFn::Kind::split;
            f.arg = s.value();
        } else if (n == "field") {
            if (Status st = want(2); !st) return st;
            auto s = str_at(0);
            if (!s) return s.status();
            if (a.args[1].kind != Arg::Kind::number || !a.args[1].num.is_int || a.args[1].num.i < 0)
                return err(a.args[1].col, "field: expected a field index (0-based)");
            f.kind = StrFn::Kind::field;
            f.arg = s.value();
            f.index = a.args[1].num.i;
        } else if (n == "regex") {
            if (Status st = want(2); !st) return st;
            auto s = str_at(0);
            if (!s) return s.status();
            if (a.args[1].kind != Arg::Kind::number || !a.args[1].num.is_int || a.args[1].num.i < 0)
                return err(a.args[1].col, "regex: expected a group number");
            f.kind = StrFn::Kind::regex;
            if (Status st = check_regex_limits(a.args[0]); !st) return st;
            try {
                f.re = std::make_shared<const std::regex>(s.value(), std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                return err(a.args[0].col, std::string("regex: ") + e.what());
            }
            f.index = a.args[1].num.i;
            if (size_t(f.index) > f.re->mark_count()) return err(a.args[1].col, "regex: no such group");
        } else if (n == "json" || n == "header") {
            if (Status st = want(1); !st) return st;
            auto s = str_at(0);
            if (!s) return s.status();
            f.kind = n == "json" ? StrFn::Kind::json : StrFn::Kind::header;
            f.arg = s.value();
        } else if (_user && _user->maps.count(n)) {
            if (Status st = want(0); !st) return st;
            f.kind = StrFn::Kind::user;
            f.arg = n;
            f.user = &_user->maps.at(n);
        } else {
            std::vector<std::string_view> names = str_fn_names;
            if (_user)
                for (auto& [k, v] : _user->maps) names.push_back(k);
            return err(a.col, "unknown function '" + n + "'" + suggest(n, names));
        }
        return f;
    }

    Result<Pred> pred(const Arg& a) {
        Pred p;
        if (a.kind != Arg::Kind::call) return err(a.col, "expected a predicate (contains, matches, eq, nonEmpty, not, gt, lt)");
        const std::string& n = a.text;
        if (n == "contains" || n == "matches" || n == "eq") {
            if (a.args.size() != 1 || a.args[0].kind != Arg::Kind::string) return err(a.col, n + ": expected one string");
            p.arg = a.args[0].text;
            p.kind = n == "contains" ? Pred::Kind::contains : n == "eq" ? Pred::Kind::eq : Pred::Kind::matches;
            if (p.kind == Pred::Kind::matches) {
                if (Status st = check_regex_limits(a.args[0]); !st) return st;
                try {
                    p.re = std::make_shared<const std::regex>(p.arg, std::regex::ECMAScript);
                } catch (const std::regex_error& e) {
                    return err(a.args[0].col, std::string("matches: ") + e.what());
                }
            }
        } else if (n == "nonEmpty") {
            if (!a.args.empty()) return err(a.col, "nonEmpty takes no arguments");
            p.kind = Pred::Kind::non_empty;
        } else if (n == "not") {
            if (a.args.size() != 1) return err(a.col, "not: expected one predicate");
            auto inner = pred(a.args[0]);
            if (!inner) return inner.status();
            p.kind = Pred::Kind::not_;
            p.inner = std::make_shared<const Pred>(std::move(inner.value()));
        } else if (n == "gt" || n == "lt") {
            if (a.args.size() != 1 || a.args[0].kind != Arg::Kind::number) return err(a.col, n + ": expected one number");
            p.kind = n == "gt" ? Pred::Kind::gt : Pred::Kind::lt;
            p.num = a.args[0].num;
        } else if (_user && _user->filters.count(n)) {
            if (!a.args.empty()) return err(a.col, n + " takes no arguments");
            p.kind = Pred::Kind::user;
            p.user = &_user->filters.at(n);
            p.arg = n;
        } else {
            std::vector<std::string_view> names = pred_names;
            if (_user)
                for (auto& [k, v] : _user->filters) names.push_back(k);
            return err(a.col, "unknown predicate '" + n + "'" + suggest(n, names));
        }
        return p;
    }

    Result<NumFn> num_fn(const Arg& a) {
        NumFn f;
        if (a.kind != Arg::Kind::call) return err(a.col, "mapValues: expected abs, neg, mul(n) or add(n)");
        const std::string& n = a.text;
        if (n == "abs" || n == "neg") {
            f.kind = n == "abs" ? NumFn::Kind::abs : NumFn::Kind::neg;
            if (!a.args.empty()) return err(a.col, n + " takes no arguments");
        } else if (n == "mul" || n == "add") {
            if (a.args.size() != 1 || a.args[0].kind != Arg::Kind::number) return err(a.col, n + ": expected one number");
            f.kind = n == "mul" ? NumFn::Kind::mul : NumFn::Kind::add;
            f.arg = a.args[0].num;
        } else {
            return err(a.col, "unknown value function '" + n + "'" + suggest(n, num_fn_names));
        }
        return f;
    }

    int64_t _batch_ms;
    const UserFunctions* _user;
};

}  // namespace

const std::vector<std::string_view>& operator_names() {
    static const std::vector<std::string_view> v = {
        "map", "flatMap", "filter", "pair", "kv", "keyBy", "mapValues", "filterValues", "count", "countByValue",
        "reduce", "reduceByKey", "groupByKey", "window", "countByWindow", "reduceByWindow", "reduceByKeyAndWindow",
        "countByValueAndWindow", "groupByKeyAndWindow", "updateStateByKey", "topK"};
    return v;
}

Result<std::vector<Call>> parse_pipeline(std::string_view text) { return Parser(text).pipeline(); }

Result<Plan> compile_pipeline(std::string_view text, int64_t batch_ms, const UserFunctions* user) {
    auto calls = parse_pipeline(text);
    if (!calls) return calls.status();
    return Compiler(batch_ms, user).compile(calls.value());
}

// ------------------------------------------------------------------ evaluation

bool apply_str_fn(const StrFn& f, std::string_view in, const EventView* event, std::string& scratch,
                  std::string_view* out) {
    switch (f.kind) {
    case StrFn::Kind::lower:
    case StrFn::Kind::upper:
        scratch.assign(in);
        for (auto& c : scratch)
            c = char(f.kind == StrFn::Kind::lower ? std::tolower(static_cast<unsigned char>(c))
                                                  : std::toupper(static_cast<unsigned char>(c)));
        *out = scratch;
        return true;
    case StrFn::Kind::trim: {
        size_t b = 0, e = in.size();
        while (b < e && std::isspace(static_cast<unsigned char>(in[b]))) b++;
        while (e > b && std::isspace(static_cast<unsigned char>(in[e - 1]))) e--;
        *out = in.substr(b, e - b);
        return true;
    }
    case StrFn::Kind::field: {
        size_t pos = 0;
        for (int64_t i = 0; i < f.index; i++) {
            pos = in.find(f.arg, pos);
            if (pos == std::string_view::npos) return false;
            pos += f.arg.size();
        }
        size_t end = in.find(f.arg, pos);
        *out = in.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        return true;
    }
    case StrFn::Kind::regex: {
        std::match_results<std::string_view::const_iterator> m;
        if (!std::regex_search(in.begin(), in.end(), m, *f.re)) return false;
        if (!m[size_t(f.index)].matched) return false;
        *out = in.substr(size_t(m.position(size_t(f.index))), size_t(m.length(size_t(f.index))));
        return true;
    }
    case StrFn::Kind::json:
        if (!json_path(in, f.arg, scratch)) return false;
        *out = scratch;
        return true;
    case StrFn::Kind::header:
        return event && event->find_header(f.arg, out);
    case StrFn::Kind::user:
        if (!(*f.user)(in, scratch)) return false;
        *out = scratch;
        return true;
    case StrFn::Kind::split: break;  // handled by flatMap
    }
    return false;
}

bool apply_pred(const Pred& p, std::string_view in) {
    switch (p.kind) {
    case Pred::Kind::contains: return in.find(p.arg) != std::string_view::npos;
    case Pred::Kind::matches: return std::regex_match(in.begin(), in.end(), *p.re);
    case Pred::Kind::eq: return in == p.arg;
    case Pred::Kind::non_empty: return !in.empty();
    case Pred::Kind::not_: return !apply_pred(*p.inner, in);
    case Pred::Kind::gt:
    case Pred::Kind::lt: {
        Num x;
        if (!parse_num(in, &x)) return false;
        return p.kind == Pred::Kind::gt ? p.num < x : x < p.num;
    }
    case Pred::Kind::user: return (*p.user)(in);
    }
    return false;
}

Num apply_num_fn(const NumFn& f, Num x) {
    switch (f.kind) {
    case NumFn::Kind::abs:
        if (x.is_int) return x.i < 0 && x.i != INT64_MIN ? Num::of_int(-x.i) : x;
        return Num::of_double(std::fabs(x.d));
    case NumFn::Kind::neg: return mul(x, Num::of_int(-1));
    case NumFn::Kind::mul: return mul(x, f.arg);
    case NumFn::Kind::add: return add(x, f.arg);
    }
    return x;
}

namespace {
// A tiny JSON walker: enough to find a member by dotted path and return its
// text (strings unescaped), skipping everything else.
struct Json {
    std::string_view t;
    size_t p = 0;
    void ws() {
        while (p < t.size() && std::isspace(static_cast<unsigned char>(t[p]))) p++;
    }
    bool string(std::string* out) {
        if (p >= t.size() || t[p] != '"') return false;
        p++;
        while (p < t.size() && t[p] != '"') {
            char c = t[p++];
            if (c == '\\' && p < t.size()) {
                char e = t[p++];
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
                if (e == 'u') {  // keep \uXXXX as written: rare in keys we look up
                    if (out) *out += "\\u";
                    continue;
                }
            }
            if (out) *out += c;
        }
        if (p >= t.size()) return false;
        p++;
        return true;
    }
    bool skip() {
        ws();
        if (p >= t.size()) return false;
        char c = t[p];
        if (c == '"') return string(nullptr);
        if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            p++;
            ws();
            if (p < t.size() && t[p] == close) {
                p++;
                return true;
            }
            for (;;) {
                if (c == '{') {
                    ws();
                    if (!string(nullptr)) return false;
                    ws();
                    if (p >= t.size() || t[p] != ':') return false;
                    p++;
                }
                if (!skip()) return false;
                ws();
                if (p < t.size() && t[p] == ',') {
                    p++;
                    continue;
                }
                if (p < t.size() && t[p] == close) {
                    p++;
                    return true;
                }
                return false;
            }
        }
        while (p < t.size() && t[p] != ',' && t[p] != '}' && t[p] != ']' && !std::isspace(static_cast<unsigned char>(t[p]))) p++;
        return true;
    }
};
}  // namespace

bool json_path(std::string_view json, std::string_view path, std::string& out) {
    Json j{json};
    for (;;) {
        size_t dot = path.find('.');
        std::string_view part = path.substr(0, dot);
        j.ws();
        if (j.p >= json.size() || json[j.p] != '{') return false;
        j.p++;
        bool found = false;
        for (;;) {
            j.ws();
            std::string name;
            if (!j.string(&name)) return false;
            j.ws();
            if (j.p >= json.size() || json[j.p] != ':') return false;
            j.p++;
            j.ws();
            if (name == part) {
                found = true;
                break;
            }
            if (!j.skip()) return false;
            j.ws();
            if (j.p < json.size() && json[j.p] == ',') {
                j.p++;
                continue;
            }
            return false;
        }
        if (!found) return false;
        if (dot == std::string_view::npos) {
            out.clear();
            if (j.p < json.size() && json[j.p] == '"') return j.string(&out);
            size_t start = j.p;
            if (!j.skip()) return false;
            out.assign(json.substr(start, j.p - start));
            return true;
        }
        path.remove_prefix(dot + 1);
    }
}

}  // namespace sluice::ops
