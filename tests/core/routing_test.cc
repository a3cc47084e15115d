// SPDX-License-Identifier: Apache-2.0
// ChannelProcessor with the multiplexing and load_balancing selectors and
// with interceptors: Flume's routing (reference/flume.md §2.3), and the
// processor's contracts (a retried put never puts into a channel twice;
// when_durable waits for every required channel that took events).
#include <gtest/gtest.h>

#include <map>

#include "core/channel.h"
#include "core/component.h"
#include "core/interceptor.h"
#include "core/memory_channel.h"

namespace sluice {
namespace {

class mem_channel {
public:
    explicit mem_channel(std::string name, int capacity = 100, int tx = 100)
        : _descriptor(memory_channel_descriptor()), _counters("CHANNEL", name, channel_counter_names(), 1) {
        _config.kind = ComponentKind::channel;
        _config.name = name;
        _config.key_prefix = "a1.channels." + name + ".";
        _config.props["type"] = ConfigValue{"memory", 1};
        _config.props["capacity"] = ConfigValue{std::to_string(capacity), 2};
        _config.props["transactionCapacity"] = ConfigValue{std::to_string(tx), 2};
        _settings = ComponentSettings(&_config, &_descriptor.keys);
        ChannelContext ctx{_settings, 1, _counters};
        _channel = std::move(_descriptor.make_channel(ctx).value());
    }
    Channel* get() { return _channel.get(); }
    Channel* operator->() { return _channel.get(); }

    // Takes everything; returns "body" or "body|k=v,..." per event.
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        for (;;) {
            auto tx = _channel->begin_take(0);
            if (tx->take(1000) == 0) {
                (void)tx->commit();
                return out;
            }
            for (auto& span : tx->events())
                for (uint32_t i = 0; i < span.size(); i++) out.emplace_back(span[i].body());
            EXPECT_TRUE(tx->commit().is_ok());
        }
    }

private:
    ComponentDescriptor _descriptor;
    ComponentConfig _config;
    ComponentSettings _settings;
    CounterGroup _counters;
    std::unique_ptr<Channel> _channel;
};

// Events "body" with header state=value (no header when value is "-").
EventSpan events(const std::vector<std::pair<std::string, std::string>>& body_and_state) {
    auto b = std::make_shared<EventBatch>();
    for (auto& [body, state] : body_and_state) {
        b->add(body);
        if (state != "-") b->add_header("state", state);
    }
    uint32_t n = b->size();
    return EventSpan{std::move(b), 0, n};
}

EventSpan plain(int first, int n) {
    auto b = std::make_shared<EventBatch>();
    for (int i = 0; i < n; i++) b->add("e" + std::to_string(first + i));
    return EventSpan{b, 0, uint32_t(n)};
}

// ------------------------------------------------------------ multiplexing

TEST(Multiplexing, HeaderValuePicksChannelsAndDefaultTakesTheRest) {
    mem_channel ca("ca"), ny("ny"), other("other");
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::multiplexing;
    r.channels = {ca.get(), ny.get(), other.get()};
    r.header = "state";
    r.mapping = {{"CA", {ca.get()}}, {"NY", {ny.get()}}, {"BOTH", {ca.get(), ny.get()}}};
    r.default_channels = {other.get()};
    ChannelProcessor proc(r, 0);
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(events({{"1", "CA"}, {"2", "NY"}, {"3", "CA"}, {"4", "TX"}, {"5", "-"}, {"6", "  "},
                                 {"7", "BOTH"}, {"8", "ca"}}),
                         progress)
                    .is_ok());
    EXPECT_EQ(ca.drain(), (std::vector<std::string>{"1", "3", "7"}));
    EXPECT_EQ(ny.drain(), (std::vector<std::string>{"2", "7"}));
    EXPECT_EQ(other.drain(), (std::vector<std::string>{"4", "5", "6", "8"}))
        << "unmapped, missing and blank values go to the default; values are case-sensitive";
}

TEST(Multiplexing, NoDefaultDropsUnmappedEventsSilently) {
    mem_channel ca("ca");
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::multiplexing;
    r.channels = {ca.get()};
    r.header = "state";
    r.mapping = {{"CA", {ca.get()}}};
    ChannelProcessor proc(r, 0);
    ChannelProcessor::Progress progress;
    EXPECT_TRUE(proc.put(events({{"1", "TX"}, {"2", "CA"}}), progress).is_ok());
    EXPECT_EQ(ca.drain(), (std::vector<std::string>{"2"}));
}

TEST(Multiplexing, OptionalChannelsPerValueLeaveOutRequiredOnesAndFailSilently) {
    mem_channel ca("ca"), audit("audit", 1, 1), other("other");
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::multiplexing;
    r.channels = {ca.get(), audit.get(), other.get()};
    r.header = "state";
    r.mapping = {{"CA", {ca.get()}}};
    r.optional_mapping = {{"CA", {ca.get(), audit.get()}}, {"TX", {audit.get()}}};
    r.default_channels = {other.get()};
    ChannelProcessor proc(r, 0);
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(events({{"1", "CA"}}), progress).is_ok());
    EXPECT_EQ(ca->size(), 1u) << "ca is required for CA, not also optional (no second copy)";
    EXPECT_EQ(audit->size(), 1u);
    progress.reset();
    ASSERT_TRUE(proc.put(events({{"2", "TX"}}), progress).is_ok()) << "audit is full, but only optional";
    EXPECT_EQ(other.drain(), (std::vector<std::string>{"2"})) << "TX has no mapping: default required";
    EXPECT_EQ(audit.drain(), (std::vector<std::string>{"1"}));
}

TEST(Multiplexing, RetryAfterAFullChannelNeverPutsTwice) {
    mem_channel ca("ca"), ny("ny", 2, 2);
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::multiplexing;
    r.channels = {ca.get(), ny.get()};
    r.header = "state";
    r.mapping = {{"CA", {ca.get()}}, {"NY", {ny.get()}}};
    ChannelProcessor proc(r, 0);
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(events({{"n0", "NY"}, {"n00", "NY"}}), progress).is_ok());
    progress.reset();
    auto span = events({{"c1", "CA"}, {"n1", "NY"}});
    Status st = proc.put(span, progress);
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(progress.failed, ny.get());
    EXPECT_EQ(progress.next_required, 1u);
    EXPECT_EQ(ca->size(), 1u);
    st = proc.put(span, progress);
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(ca->size(), 1u) << "ca took its event once";
    EXPECT_EQ(ny.drain(), (std::vector<std::string>{"n0", "n00"}));
    ASSERT_TRUE(proc.put(span, progress).is_ok());
    EXPECT_EQ(ca.drain(), (std::vector<std::string>{"c1"}));
    EXPECT_EQ(ny.drain(), (std::vector<std::string>{"n1"}));
}

// A channel whose commits become durable only when the test says so.
class held_durable final : public Channel {
public:
    explicit held_durable(Channel& inner) : Channel(inner.name(), 1), _inner(inner) {}
    std::unique_ptr<PutTransaction> begin_put(unsigned s) override {
        _marks++;
        return _inner.begin_put(s);
    }
    std::unique_ptr<TakeTransaction> begin_take(unsigned s) override { return _inner.begin_take(s); }
    void on_available(unsigned s, std::function<void()> fn) override { _inner.on_available(s, std::move(fn)); }
    uint32_t transaction_capacity() const override { return _inner.transaction_capacity(); }
    int64_t keep_alive_ms() const override { return _inner.keep_alive_ms(); }
    uint64_t size() const override { return _inner.size(); }
    uint64_t slice_size(unsigned s) const override { return _inner.slice_size(s); }
    uint64_t commit_mark(unsigned) const override { return _marks; }
    void when_durable(unsigned, uint64_t mark, std::function<void()> fn) override {
        if (mark <= _durable) return fn();
        _waiting.emplace_back(mark, std::move(fn));
    }
    void make_durable() {
        _durable = _marks;
        auto w = std::move(_waiting);
        for (auto& [m, fn] : w) fn();
    }

private:
    Channel& _inner;
    uint64_t _marks = 0, _durable = 0;
    std::vector<std::pair<uint64_t, std::function<void()>>> _waiting;
};

TEST(Multiplexing, WhenDurableWaitsOnlyForChannelsThatTookEvents) {
    mem_channel m1("ca"), m2("ny");
    held_durable ca(*m1.get()), ny(*m2.get());
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::multiplexing;
    r.channels = {&ca, &ny};
    r.header = "state";
    r.mapping = {{"CA", {&ca}}, {"NY", {&ny}}};
    ChannelProcessor proc(r, 0);
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(events({{"1", "CA"}}), progress).is_ok());
    bool acked = false;
    proc.when_durable([&] { acked = true; });
    EXPECT_FALSE(acked);
    ca.make_durable();
    EXPECT_TRUE(acked) << "ny took nothing: not waited for";
    progress.reset();
    ASSERT_TRUE(proc.put(events({{"2", "NY"}}), progress).is_ok());
    acked = false;
    proc.when_durable([&] { acked = true; });
    EXPECT_FALSE(acked);
    ny.make_durable();
    EXPECT_TRUE(acked);
}

// ---------------------------------------------------------- load_balancing

TEST(LoadBalancing, RoundRobinPerEvent) {
    mem_channel c1("c1"), c2("c2"), c3("c3");
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::load_balancing;
    r.channels = {c1.get(), c2.get(), c3.get()};
    ChannelProcessor proc(r, 0);
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(plain(0, 5), progress).is_ok());
    progress.reset();
    ASSERT_TRUE(proc.put(plain(5, 4), progress).is_ok());
    EXPECT_EQ(c1.drain(), (std::vector<std::string>{"e0", "e3", "e6"}));
    EXPECT_EQ(c2.drain(), (std::vector<std::string>{"e1", "e4", "e7"}));
    EXPECT_EQ(c3.drain(), (std::vector<std::string>{"e2", "e5", "e8"}));
}

TEST(LoadBalancing, RandomSpreadsAndRetriesKeepTheirChoices) {
    mem_channel c1("c1", 10000, 1000), c2("c2", 10000, 1000);
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::load_balancing;
    r.random = true;
    r.channels = {c1.get(), c2.get()};
    ChannelProcessor proc(r, 0);
    for (int i = 0; i < 20; i++) {
        ChannelProcessor::Progress progress;
        ASSERT_TRUE(proc.put(plain(i * 100, 100), progress).is_ok());
    }
    EXPECT_GT(c1->size(), 850u);
    EXPECT_GT(c2->size(), 850u);
    EXPECT_EQ(c1->size() + c2->size(), 2000u);
}

TEST(LoadBalancing, RetryPutsEachEventOnce) {
    mem_channel c1("c1", 100, 2), c2("c2", 2, 2);
    ChannelRouting r;
    r.selector = ChannelRouting::Selector::load_balancing;
    r.channels = {c1.get(), c2.get()};
    ChannelProcessor proc(r, 0);
    for (int first : {0, 2}) {
        ChannelProcessor::Progress progress;
        ASSERT_TRUE(proc.put(plain(first, 2), progress).is_ok());
    }
    ChannelProcessor::Progress progress;
    auto span = plain(4, 2);  // e4 -> c1, e5 -> c2 (full)
    EXPECT_EQ(proc.put(span, progress).code(), errc::channel_full);
    EXPECT_EQ(proc.put(span, progress).code(), errc::channel_full);
    EXPECT_EQ(c2.drain(), (std::vector<std::string>{"e1", "e3"}));
    ASSERT_TRUE(proc.put(span, progress).is_ok());
    EXPECT_EQ(c1.drain(), (std::vector<std::string>{"e0", "e2", "e4"}));
    EXPECT_EQ(c2.drain(), (std::vector<std::string>{"e5"})) << "the retry kept e5's channel";
}

// ------------------------------------------------------------ interceptors

std::unique_ptr<InterceptorChain> filter_chain(const std::string& regex) {
    const InterceptorType* t = find_interceptor_type("regex_filter");
    ComponentConfig cfg;
    cfg.kind = ComponentKind::source;
    cfg.name = "i1";
    cfg.props["regex"] = ConfigValue{regex, 1};
    std::vector<std::unique_ptr<Interceptor>> v;
    v.push_back(std::move(t->build(ComponentSettings(&cfg, &t->part.keys)).value()));
    const InterceptorType* ts = find_interceptor_type("timestamp");
    ComponentConfig empty;
    empty.kind = ComponentKind::source;
    v.push_back(std::move(ts->build(ComponentSettings(&empty, &ts->part.keys)).value()));
    return std::make_unique<InterceptorChain>(std::move(v));
}

TEST(InterceptorsInProcessor, DroppedEventsAreAcceptedAndOthersIntercepted) {
    mem_channel c1("c1");
    ChannelRouting r;
    r.channels = {c1.get()};
    ChannelProcessor proc(r, 0, filter_chain("keep"));
    ChannelProcessor::Progress progress;
    auto b = std::make_shared<EventBatch>();
    b->add("drop");
    EXPECT_TRUE(proc.put(EventSpan{b, 0, 1}, progress).is_ok()) << "an all-dropped put succeeds";
    EXPECT_EQ(c1->size(), 0u);
    progress.reset();
    b = std::make_shared<EventBatch>();
    b->add("keep a");
    b->add("drop");
    b->add("keep b");
    ASSERT_TRUE(proc.put(EventSpan{b, 0, 3}, progress).is_ok());
    auto tx = c1->begin_take(0);
    ASSERT_EQ(tx->take(10), 2u);
    std::string_view ts;
    const auto& spans = tx->events();
    EXPECT_EQ(spans[0][0].body(), "keep a");
    EXPECT_TRUE(spans[0][0].find_header("timestamp", &ts));
    (void)tx->commit();
}

TEST(InterceptorsInProcessor, ARetrySeesTheSameInterceptedEvents) {
    mem_channel c1("c1"), c2("c2", 1, 1);
    ChannelRouting r;
    r.channels = {c1.get(), c2.get()};
    ChannelProcessor proc(r, 0, filter_chain(".*"));
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(plain(0, 1), progress).is_ok());
    progress.reset();
    auto span = plain(1, 1);
    EXPECT_EQ(proc.put(span, progress).code(), errc::channel_full);
    EventBatchPtr first = progress.intercepted;
    ASSERT_NE(first, nullptr);
    (void)c2.drain();
    ASSERT_TRUE(proc.put(span, progress).is_ok());
    EXPECT_EQ(progress.intercepted, first) << "not intercepted again (same timestamps, no second copy)";
    EXPECT_EQ(c1.drain(), (std::vector<std::string>{"e0", "e1"}));
}

TEST(InterceptorsInProcessor, NoInterceptorsNoCopy) {
    mem_channel c1("c1");
    ChannelRouting r;
    r.channels = {c1.get()};
    ChannelProcessor proc(r, 0, nullptr);
    ChannelProcessor::Progress progress;
    auto span = plain(0, 3);
    ASSERT_TRUE(proc.put(span, progress).is_ok());
    EXPECT_EQ(progress.intercepted, nullptr);
    auto tx = c1->begin_take(0);
    ASSERT_EQ(tx->take(10), 3u);
    EXPECT_EQ(tx->events()[0].batch, span.batch) << "the channel holds the source's own batch";
    (void)tx->commit();
}

}  // namespace
}  // namespace sluice
