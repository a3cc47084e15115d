// SPDX-License-Identifier: Apache-2.0
// A Kafka cluster for bench/kafka_e2e.sh: librdkafka's mock cluster in its
// own process (so its CPU is not the engine's), listening on loopback.
//
//   sluice-kafka-mock BROKERS PARTITIONS TOPIC... [--fill TOPIC N BYTES WORDS VOCAB]
//
// Prints the bootstrap servers on the first line of stdout; with --fill, then
// produces N records to TOPIC (values of WORDS words drawn from a vocabulary
// of VOCAB, or BYTES bytes of 'x' when WORDS is 0), waits for every
// acknowledgement and prints "filled N". Runs until stdin closes.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s BROKERS PARTITIONS TOPIC... [--fill TOPIC N BYTES WORDS VOCAB]\n", argv[0]);
        return 2;
    }
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!owner) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(owner, atoi(argv[1]));
    int partitions = atoi(argv[2]);
    int i = 3;
    for (; i < argc && strcmp(argv[i], "--fill") != 0; i++) rd_kafka_mock_topic_create(mc, argv[i], partitions, 1);
    std::string bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    printf("%s\n", bootstrap.c_str());
    fflush(stdout);
    if (i + 5 < argc) {
        const char* topic = argv[i + 1];
        long n = atol(argv[i + 2]);
        size_t bytes = size_t(atol(argv[i + 3]));
        int words = atoi(argv[i + 4]);
        int vocab = atoi(argv[i + 5]);
        rd_kafka_conf_t* pc = rd_kafka_conf_new();
        rd_kafka_conf_set(pc, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
        rd_kafka_conf_set(pc, "linger.ms", "20", err, sizeof(err));
        rd_kafka_conf_set(pc, "batch.num.messages", "10000", err, sizeof(err));
        rd_kafka_conf_set(pc, "queue.buffering.max.messages", "1000000", err, sizeof(err));
        static long failed = 0;  // delivery reports with an error (records not in the topic)
        static char first_error[256] = "";
        rd_kafka_conf_set_dr_msg_cb(pc, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
            if (m->err && failed++ == 0) snprintf(first_error, sizeof first_error, "%s", rd_kafka_err2str(m->err));
        });
        rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
        std::mt19937_64 rng(42);
        const long per_partition = (n + partitions - 1) / partitions;
        std::string value;
        for (long k = 0; k < n; k++) {
            value.clear();
            if (words == 0) {
                value.assign(bytes, 'x');
            } else {
                for (int w = 0; w < words; w++) {
                    if (w) value += ' ';
                    value += "w" + std::to_string(rng() % uint64_t(vocab));
                }
            }
            // Each partition gets one contiguous block of n / partitions
            // records. Left to the partitioner, keyless records go stickily
            // (all of ~10 ms to one partition): how many a partition got then
            // depended on the fill's speed, and one given more than the
            // mock's bounded log keeps lost its oldest records.
            while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(int32_t(k / per_partition)),
                                     RD_KAFKA_V_VALUE(value.data(), value.size()),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 10);
        }
        rd_kafka_flush(p, 600000);
        rd_kafka_destroy(p);
        if (failed > 0) {
            fprintf(stderr, "fill: %ld of %ld records failed (%s)\n", failed, n, first_error);
            return 1;
        }
        printf("filled %ld\n", n);
        fflush(stdout);
    }
    char buf[256];
    while (read(0, buf, sizeof(buf)) > 0) {
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(owner);
    return 0;
}
