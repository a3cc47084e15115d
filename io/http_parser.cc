// SPDX-License-Identifier: Apache-2.0
#include "io/http_parser.h"

#include <cstring>

namespace sluice {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++)
        if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

bool is_token_char(char c) {
    if (c <= 32 || c >= 127) return false;
    return !strchr("()<>@,;:\\\"/[]?={}", c);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        size_t comma = value.find(',');
        if (iequals(trim(value.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

// The end of the line starting at `from` ("\n", with an optional "\r"
// before it): the index of '\n', or npos.
size_t line_end(std::string_view s, size_t from) { return s.find('\n', from); }

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return &v;
    return nullptr;
}

std::string_view HttpRequest::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

HttpRequestParser::result HttpRequestParser::fail(int status, std::string reason) {
    _phase = phase::failed;
    _error_status = status;
    _error_reason = std::move(reason);
    return result::error;
}

void HttpRequestParser::next() {
    _req = HttpRequest();
    _phase = phase::headers;
    _remaining = 0;
    _continue_sent = false;
    // Drop what the finished request used; keep the rest (pipelining).
    _buf.erase(0, _pos);
    _pos = 0;
}

HttpRequestParser::result HttpRequestParser::parse_headers(std::string_view head) {
    // Request line: METHOD SP target SP HTTP/1.x
    size_t le = line_end(head, 0);
    std::string_view line = head.substr(0, le);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) return fail(400, "malformed request line");
    std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                     version = line.substr(sp2 + 1);
    for (char c : method)
        if (!is_token_char(c)) return fail(400, "malformed method");
    for (char c : target)
        if (c <= 32 || c == 127) return fail(400, "malformed request target");
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9')
        return fail(400, "unsupported HTTP version");
    _req.method.assign(method);
    _req.target.assign(target);
    _req.minor_version = version[7] - '0';

    size_t pos = le + 1;
    while (pos < head.size()) {
        size_t e = line_end(head, pos);
        std::string_view h = head.substr(pos, (e == std::string_view::npos ? head.size() : e) - pos);
        pos = e == std::string_view::npos ? head.size() : e + 1;
        if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
        if (h.empty()) break;  // the blank line
        if (h.front() == ' ' || h.front() == '\t') return fail(400, "folded header lines are not accepted");
        size_t colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header line");
        std::string_view name = h.substr(0, colon);
        for (char c : name)
            if (!is_token_char(c)) return fail(400, "malformed header name");
        _req.headers.emplace_back(std::string(name), std::string(trim(h.substr(colon + 1))));
    }

    const std::string* te = _req.header("Transfer-Encoding");
    bool chunked = false;
    if (te) {
        std::string_view v = trim(*te);
        size_t last_comma = v.rfind(',');
        std::string_view last = trim(last_comma == std::string_view::npos ? v : v.substr(last_comma + 1));
        if (!iequals(last, "chunked") || _req.minor_version == 0) return fail(400, "unsupported transfer encoding");
        chunked = true;
    }
    bool have_length = false;
    size_t length = 0;
    for (const auto& [k, v] : _req.headers) {
        if (!iequals(k, "Content-Length")) continue;
        if (v.empty() || v.size() > 19) return fail(400, "malformed Content-Length");
        size_t n = 0;
        for (char c : v) {
            if (c < '0' || c > '9') return fail(400, "malformed Content-Length");
            n = n * 10 + size_t(c - '0');
        }
        if (have_length && n != length) return fail(400, "conflicting Content-Length headers");
        have_length = true;
        length = n;
    }
    if (chunked && have_length) return fail(400, "both Content-Length and chunked");

    const std::string* conn = _req.header("Connection");
    if (_req.minor_version == 0) _req.keep_alive = conn && has_token(*conn, "keep-alive");
    else _req.keep_alive = !(conn && has_token(*conn, "close"));
    const std::string* expect = _req.header("Expect");
    _req.expect_continue = expect && iequals(trim(*expect), "100-continue") && _req.minor_version >= 1;

    if (chunked) {
        _phase = phase::chunk_size;
    } else if (have_length) {
        if (length > _limits.max_body_bytes)
            return fail(413, "body of " + std::to_string(length) + " bytes over the limit of " +
                                 std::to_string(_limits.max_body_bytes));
        _remaining = length;
        _phase = phase::body_length;
    } else {
        _phase = phase::done;
    }
    return result::need_more;
}

HttpRequestParser::result HttpRequestParser::parse() {
    for (;;) {
        std::string_view avail = std::string_view(_buf).substr(_pos);
        switch (_phase) {
        case phase::failed: return result::error;
        case phase::done: return result::complete;
        case phase::headers: {
            // Leading empty lines before a request are ignored (RFC 9112 §2.2).
            while (!avail.empty() && (avail[0] == '\r' || avail[0] == '\n')) {
                _pos++;
                avail.remove_prefix(1);
            }
            size_t end = avail.find("\n\r\n");
            size_t end2 = avail.find("\n\n");
            size_t head_len = std::string_view::npos;
            if (end != std::string_view::npos) head_len = end + 3;
            if (end2 != std::string_view::npos && (head_len == std::string_view::npos || end2 + 2 < head_len))
                head_len = end2 + 2;
            if (head_len == std::string_view::npos) {
                if (avail.size() > _limits.max_header_bytes)
                    return fail(431, "request headers over " + std::to_string(_limits.max_header_bytes) + " bytes");
                return result::need_more;
            }
            if (head_len > _limits.max_header_bytes)
                return fail(431, "request headers over " + std::to_string(_limits.max_header_bytes) + " bytes");
            if (parse_headers(avail.substr(0, head_len)) == result::error) return result::error;
            _pos += head_len;
            break;
        }
        case phase::body_length: {
            size_t n = std::min(_remaining, avail.size());
            _req.body.append(avail.data(), n);
            _pos += n;
            _remaining -= n;
            if (_remaining > 0) return result::need_more;
            _phase = phase::done;
            break;
        }
        case phase::chunk_size: {
            size_t e = avail.find('\n');
            if (e == std::string_view::npos) {
                if (avail.size() > 1024) return fail(400, "malformed chunk size");
                return result::need_more;
            }
            std::string_view line = avail.substr(0, e);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            line = line.substr(0, line.find(';'));  // chunk extensions are ignored
            line = trim(line);
            if (line.empty() || line.size() > 15) return fail(400, "malformed chunk size");
            size_t size = 0;
            for (char c : line) {
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) return fail(400, "malformed chunk size");
                size = size * 16 + size_t(d);
            }
            _pos += e + 1;
            if (size == 0) {
                _phase = phase::trailers;
                break;
            }
            if (size > _limits.max_body_bytes || _req.body.size() + size > _limits.max_body_bytes)
                return fail(413, "chunked body over the limit of " + std::to_string(_limits.max_body_bytes) + " bytes");
            _remaining = size;
            _phase = phase::chunk_data;
            break;
        }
        case phase::chunk_data: {
            size_t n = std::min(_remaining, avail.size());
            _req.body.append(avail.data(), n);
            _pos += n;
            _remaining -= n;
            if (_remaining > 0) return result::need_more;
            _phase = phase::chunk_data_end;
            break;
        }
        case phase::chunk_data_end: {
            if (avail.empty()) return result::need_more;
            if (avail[0] == '\n') {
                _pos += 1;
            } else if (avail[0] == '\r') {
                if (avail.size() < 2) return result::need_more;
                if (avail[1] != '\n') return fail(400, "malformed chunk end");
                _pos += 2;
            } else {
                return fail(400, "malformed chunk end");
            }
            _phase = phase::chunk_size;
            break;
        }
        case phase::trailers: {
            // Trailer lines until an empty one; read and dropped.
            size_t e = avail.find('\n');
            if (e == std::string_view::npos) {
                if (avail.size() > _limits.max_header_bytes) return fail(431, "trailers too large");
                return result::need_more;
            }
            std::string_view line = avail.substr(0, e);
            _pos += e + 1;
            if (line.empty() || line == "\r") _phase = phase::done;
            break;
        }
        }
    }
}

std::string_view http_reason(int code) {
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

std::string http_response_head(int code, std::string_view content_type, size_t body_size, bool close) {
    std::string h = "HTTP/1.1 " + std::to_string(code) + " " + std::string(http_reason(code)) + "\r\n";
    if (!content_type.empty()) h += "Content-Type: " + std::string(content_type) + "\r\n";
    h += "Content-Length: " + std::to_string(body_size) + "\r\n";
    if (close) h += "Connection: close\r\n";
    h += "\r\n";
    return h;
}

}  // namespace sluice
