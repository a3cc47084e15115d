// SPDX-License-Identifier: Apache-2.0
// The `sluice` command: `agent`, `check`, and `config-reference`
// (DESIGN.md §2). Exit codes: 0 success, 1 configuration or start-up error,
// 2 bad command line.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/agent.h"
#include "core/config.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/runtime.h"
#include "io/channel_inspect.h"
#include "io/components.h"
#include "io/http_monitor.h"
#include "io/reactors.h"
#include "operators/stream.h"

using namespace sluice;

namespace {

const char* usage_text =
    "usage:\n"
    "  sluice agent -n NAME -f FILE [-c DIR] [--shards N] [--lenient] [-Dkey=value ...]\n"
    "  sluice check -n NAME -f FILE [--lenient] [-Dkey=value ...]\n"
    "  sluice config-reference\n"
    "  sluice channel inspect DIR...   report on (and verify) file channel directories\n"
    "  sluice --version\n"
    "\n"
    "  -n, --name NAME        the agent to run (the first part of its keys)\n"
    "  -f, --conf-file FILE   Flume properties file\n"
    "  -c, --conf DIR         accepted for flume-ng compatibility and ignored\n"
    "  --shards N             shards (pinned threads); default: usable CPUs\n"
    "  --lenient              drop broken components with a warning, as Flume does\n"
    "  -Dsluice.io=auto|io_uring|epoll, -Dsluice.log.level=INFO, -Dsluice.drain.timeout=30s,\n"
    "  -Dsluice.monitoring.type=http -Dsluice.monitoring.port=41414 (or flume.monitoring.*),\n"
    "  -D<agent>.<key>=<value> overrides a configuration key\n";

struct options {
    std::string command;
    std::string name, file;
    unsigned shards = 0;
    bool lenient = false;
    std::map<std::string, std::string> system;     // -Dsluice.* / -Dflume.*
    std::map<std::string, std::string> overrides;  // -D<agent>.*
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "sluice: %s\n%s", msg.c_str(), usage_text);
    std::exit(2);
}

options parse_args(int argc, char** argv) {
    options o;
    if (argc < 2) usage_error("no command");
    o.command = argv[1];
    std::vector<std::pair<std::string, std::string>> defines;
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&](const char* flag) -> std::string {
            if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
            return argv[++i];
        };
        if (a == "-n" || a == "--name") o.name = value("-n");
        else if (a == "-f" || a == "--conf-file") o.file = value("-f");
        else if (a == "-c" || a == "--conf") value("-c");
        else if (a == "--lenient") o.lenient = true;
        else if (a == "--shards") {
            std::string v = value("--shards");
            char* end = nullptr;
            long n = strtol(v.c_str(), &end, 10);
            if (*end || n < 1 || n > 1024) usage_error("--shards: expected a number from 1 to 1024, got '" + v + "'");
            o.shards = unsigned(n);
        } else if (a.rfind("-D", 0) == 0) {
            std::string kv = a.size() > 2 ? a.substr(2) : value("-D");
            auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) usage_error("-D" + kv + ": expected -Dkey=value");
            defines.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
        } else {
            usage_error("unknown argument '" + a + "'");
        }
    }
    for (auto& [k, v] : defines) {
        if (!o.name.empty() && k.rfind(o.name + ".", 0) == 0) o.overrides[k] = v;
        else o.system[k] = v;
    }
    return o;
}

void print_problems(const std::vector<ConfigProblem>& problems) {
    for (auto& p : problems) {
        bool warning = p.severity == ConfigProblem::Severity::warning;
        std::fprintf(stderr, "%s%s\n", warning ? "warning: " : "", p.to_string().c_str());
    }
}

std::unique_ptr<Topology> load(const options& o) {
    if (o.name.empty()) usage_error("-n NAME is required");
    if (o.file.empty()) usage_error("-f FILE is required");
    ReadOptions ro;
    ro.agent = o.name;
    ro.overrides = o.overrides;
    std::vector<ConfigProblem> problems;
    AgentConfig cfg = read_agent_config(o.file, ro, problems);
    // Validation runs even after read errors, so every problem is reported at once.
    auto t = validate_agent(std::move(cfg), o.lenient, problems);
    print_problems(problems);
    return t;
}

void apply_log_level(const options& o) {
    std::string level;
    if (auto it = o.system.find("flume.root.logger"); it != o.system.end()) level = it->second.substr(0, it->second.find(','));
    if (auto it = o.system.find("sluice.log.level"); it != o.system.end()) level = it->second;
    LogLevel l;
    if (!level.empty()) {
        if (parse_log_level(level, &l)) set_log_level(l);
        else usage_error("log level: expected DEBUG, INFO, WARN or ERROR, got '" + level + "'");
    }
}

int run_agent(const options& o) {
    // Signals are taken by sigwait in this thread only; every thread started
    // from here inherits the mask. SIGPIPE is never wanted: sends use
    // MSG_NOSIGNAL and file writes report EPIPE.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    apply_log_level(o);
    auto topology = load(o);
    if (!topology) return 1;

    std::string io_kind = "auto";
    if (auto it = o.system.find("sluice.io"); it != o.system.end()) io_kind = it->second;
    std::string chosen;
    auto factory = select_reactor(io_kind, &chosen);
    if (!factory) {
        std::fprintf(stderr, "sluice: %s\n", factory.status().message().c_str());
        return 1;
    }
    AgentOptions ao;
    if (auto it = o.system.find("sluice.drain.timeout"); it != o.system.end()) {
        auto ms = parse_duration_ms(it->second, 1000);
        if (!ms) usage_error("sluice.drain.timeout: " + ms.status().message());
        ao.drain_timeout_ms = ms.value();
    }
    // Monitoring: Flume's flume.monitoring.* spellings work too.
    std::string monitoring_type;
    int monitoring_port = 41414;
    for (const char* prefix : {"flume.monitoring.", "sluice.monitoring."}) {
        if (auto it = o.system.find(std::string(prefix) + "type"); it != o.system.end()) monitoring_type = it->second;
        if (auto it = o.system.find(std::string(prefix) + "port"); it != o.system.end()) {
            char* end = nullptr;
            long p = strtol(it->second.c_str(), &end, 10);
            if (it->second.empty() || *end || p < 0 || p > 65535)
                usage_error(it->first + ": expected a port number, got '" + it->second + "'");
            monitoring_port = int(p);
        }
    }
    for (auto& c : monitoring_type) c = char(tolower(static_cast<unsigned char>(c)));
    if (!monitoring_type.empty() && monitoring_type != "http")
        usage_error("monitoring type '" + monitoring_type + "' is not supported; supported: http");
    for (auto& [k, v] : o.system)
        if (k != "sluice.io" && k != "sluice.log.level" && k != "flume.root.logger" && k != "sluice.drain.timeout" &&
            k.rfind("sluice.monitoring.", 0) != 0 && k.rfind("flume.monitoring.", 0) != 0)
            log_warn("ignoring unknown system property -D%s", k.c_str());

    RuntimeOptions ro;
    ro.shards = o.shards;
    Runtime runtime(ro, std::move(factory.value()));
    if (Status st = runtime.start(); !st) {
        std::fprintf(stderr, "sluice: cannot start shards: %s\n", st.message().c_str());
        return 1;
    }
    Agent agent(std::move(topology), runtime, ao);
    if (Status st = agent.start(); !st) {
        std::fprintf(stderr, "sluice: agent %s failed to start: %s\n", o.name.c_str(), st.message().c_str());
        agent.stop();
        runtime.stop();
        return 1;
    }
    log_info("agent %s started: %u shards, %s", o.name.c_str(), runtime.shard_count(), chosen.c_str());

    std::unique_ptr<HttpMonitor> monitor;
    if (monitoring_type == "http") {
        MonitorContent content;
        content.json = [&agent] { return agent.metrics_json(); };
        content.prometheus = [&agent] { return prometheus_text(agent.metrics()); };
        Status started;
        runtime.run_on_all([&](Shard& shard) {
            if (shard.id() != 0) return;
            auto m = start_http_monitor(shard, "", monitoring_port, content);
            if (m) monitor = std::move(m.value());
            else started = m.status();
        });
        if (!started) {
            std::fprintf(stderr, "sluice: %s\n", started.message().c_str());
            agent.stop();
            runtime.stop();
            return 1;
        }
        log_info("monitoring: http on port %d (/metrics, /prometheus)", monitoring_port);
    }

    for (;;) {
        timespec ts{0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            log_info("agent %s: %s received, stopping", o.name.c_str(), sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (agent.sources_finished()) break;
    }
    if (monitor) runtime.run_on_all([&](Shard& shard) {
            if (shard.id() == 0) monitor->stop();
        });
    agent.stop();
    std::string summary = agent.metrics().summary();
    runtime.stop();
    monitor.reset();
    std::fputs(summary.c_str(), stderr);
    log_info("agent %s stopped", o.name.c_str());
    return 0;
}

int run_check(const options& o) {
    apply_log_level(o);
    auto topology = load(o);
    if (!topology) return 1;
    std::fputs(describe_topology(*topology).c_str(), stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    register_builtin_components(Registry::global());
    Registry::global().add(ops::stream_descriptor());
    if (argc >= 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
        std::printf("sluice %s\n", SLUICE_VERSION);
        return 0;
    }
    if (argc >= 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0)) {
        std::fputs(usage_text, stdout);
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "channel") == 0) {
        if (argc < 4 || std::strcmp(argv[2], "inspect") != 0) usage_error("usage: sluice channel inspect DIR...");
        return inspect_channel_dirs(std::vector<std::string>(argv + 3, argv + argc), stdout);
    }
    options o = parse_args(argc, argv);
    if (o.command == "agent") return run_agent(o);
    if (o.command == "check") return run_check(o);
    if (o.command == "config-reference") {
        std::fputs(configuration_reference().c_str(), stdout);
        return 0;
    }
    usage_error("unknown command '" + o.command + "'");
}
