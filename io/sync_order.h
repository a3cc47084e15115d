// SPDX-License-Identifier: Apache-2.0
// Which commits grouped syncs have made durable, when the syncs run side by
// side and finish in any order (each is one fdatasync per dirty segment,
// run by io_uring's workers). A sync covers the commits up to its target
// only in the segments it synced; commits of the same group may also lie
// in a segment an earlier, still running sync is syncing. So a sync's
// target is durable once it and every sync started before it have
// succeeded, not when it alone has. A failed sync grants nothing, and
// neither does any sync started after it (their targets include the failed
// segments' commits); the caller syncs those segments again in a new sync.
// Owned by one shard; not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace sluice {

class SyncOrder {
public:
    // A sync of commits up to `target` starts; returns its number (1, 2, ...).
    uint64_t start(uint64_t target) {
        _running.push_back({++_started, target, false});
        return _started;
    }
    // Sync `seq` (started, not yet finished) finished.
    void finish(uint64_t seq, bool ok) {
        auto it = std::find_if(_running.begin(), _running.end(), [seq](const sync& s) { return s.seq == seq; });
        it->done = true;
        if (!ok)
            for (; it != _running.end(); ++it) it->target = 0;
        while (!_running.empty() && _running.front().done) {
            _durable = std::max(_durable, _running.front().target);
            _running.pop_front();
        }
    }

    // Every commit up to this one is on disk.
    uint64_t durable() const { return _durable; }
    // No sync is running (or finished out of turn and still waiting for an earlier one).
    bool idle() const { return _running.empty(); }
    uint64_t started() const { return _started; }
    // Every sync numbered up to `seq` has finished.
    bool finished_through(uint64_t seq) const { return _running.empty() || _running.front().seq > seq; }

private:
    struct sync {
        uint64_t seq, target;
        bool done;
    };
    std::deque<sync> _running;  // by start order; the front is not done
    uint64_t _started = 0, _durable = 0;
};

}  // namespace sluice
