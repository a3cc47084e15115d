// SPDX-License-Identifier: Apache-2.0
// Incremental HTTP/1.x request parsing, shared by the monitoring server
// (io/http_monitor.cc) and the `http` source (io/http_source.cc); the rules
// are in docs/syslog.md §4.1.
//
// Feed it bytes as they arrive; it says when a request is complete (headers
// and body, Content-Length or chunked), or that the request is malformed or
// over a limit (with the status code to answer). After a complete request,
// next() drops it and keeps the bytes that followed (pipelined requests).
// Untrusted input: every size is bounded by the limits before it is buffered.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

struct HttpLimits {
    size_t max_header_bytes = 16 * 1024;   // request line + headers, including the blank line
    size_t max_body_bytes = 16 << 20;      // decoded body
};

struct HttpRequest {
    std::string method;   // as sent (case kept)
    std::string target;   // as sent, query included
    int minor_version = 1;  // HTTP/1.<minor>
    std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
    std::string body;
    bool keep_alive = true;
    bool expect_continue = false;

    // The first header named `name` (case-insensitive), or null.
    const std::string* header(std::string_view name) const;
    // The target without its query string.
    std::string_view path() const;
};

class HttpRequestParser {
public:
    enum class result { need_more, complete, error };

    explicit HttpRequestParser(HttpLimits limits = {}) : _limits(limits) {}

    // Adds bytes without parsing (while the caller is busy with a request).
    void append(std::string_view data) { _buf.append(data); }
    // Adds bytes and parses as far as they go.
    result feed(std::string_view data) {
        _buf.append(data);
        return parse();
    }
    // Parses what is buffered.
    result parse();

    // After `complete`: the request. After `error`: the status to answer
    // (400, 413, 431) and why.
    const HttpRequest& request() const { return _req; }
    int error_status() const { return _error_status; }
    const std::string& error_reason() const { return _error_reason; }
    // The headers are in and the client waits for `100 Continue` before the body.
    bool wants_continue() const { return _phase != phase::headers && _req.expect_continue && !_continue_sent; }
    void continue_sent() { _continue_sent = true; }

    // Starts on the next request (after `complete`).
    void next();
    size_t buffered() const { return _buf.size() - _pos; }

private:
    enum class phase { headers, body_length, chunk_size, chunk_data, chunk_data_end, trailers, done, failed };
    result fail(int status, std::string reason);
    result parse_headers(std::string_view head);

    HttpLimits _limits;
    std::string _buf;
    size_t _pos = 0;  // start of what is not consumed yet
    phase _phase = phase::headers;
    HttpRequest _req;
    size_t _remaining = 0;  // of the body (length) or of the current chunk
    bool _continue_sent = false;
    int _error_status = 0;
    std::string _error_reason;
};

// "HTTP/1.1 <code> <reason>\r\n" and the headers for a response with a body
// of `body_size` bytes; `close` adds Connection: close.
std::string http_response_head(int code, std::string_view content_type, size_t body_size, bool close);
std::string_view http_reason(int code);

}  // namespace sluice
