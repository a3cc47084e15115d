// SPDX-License-Identifier: Apache-2.0
#include "core/channel.h"

#include <algorithm>
#include <memory>

#include "core/assert.h"
#include "core/log.h"

namespace sluice {

ChannelProcessor::ChannelProcessor(unsigned shard, std::vector<Channel*> required, std::vector<Channel*> optional)
    : _shard(shard), _required(std::move(required)), _optional(std::move(optional)) {
    _max_batch = UINT32_MAX;
    for (auto* c : _required) _max_batch = std::min(_max_batch, c->transaction_capacity());
    for (auto* c : _optional) _max_batch = std::min(_max_batch, c->transaction_capacity());
    if (_max_batch == UINT32_MAX) _max_batch = 1024;
}

static Status put_one(Channel* c, unsigned shard, const EventSpan& span) {
    auto tx = c->begin_put(shard);
    Status st = tx->put(span);
    if (st) st = tx->commit();
    if (!st) tx->rollback();
    return st;
}

Status ChannelProcessor::put(const EventSpan& span, Progress& progress) {
    SLUICE_ASSERT(span.size() <= _max_batch, "span larger than a transaction");
    while (progress.next_required < _required.size()) {
        Channel* c = _required[progress.next_required];
        Status st = put_one(c, _shard, span);
        if (!st) {
            progress.failed = c;
            return st;
        }
        progress.next_required++;
    }
    for (auto* c : _optional) {
        Status st = put_one(c, _shard, span);
        if (!st) log_debug("optional channel %s: %s", c->name().c_str(), st.message().c_str());
    }
    progress.failed = nullptr;
    return Status::ok();
}

void ChannelProcessor::when_durable(std::function<void()> fn) {
    if (_required.size() == 1) {
        Channel* c = _required[0];
        c->when_durable(_shard, c->commit_mark(_shard), std::move(fn));
        return;
    }
    // One fn for several channels: the last of them to get there runs it.
    auto waiting = std::make_shared<size_t>(_required.size() + 1);
    auto shared_fn = std::make_shared<std::function<void()>>(std::move(fn));
    auto arrive = [waiting, shared_fn] {
        if (--*waiting == 0) (*shared_fn)();
    };
    for (auto* c : _required) c->when_durable(_shard, c->commit_mark(_shard), arrive);
    arrive();
}

}  // namespace sluice
