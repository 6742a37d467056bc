"""A stand-in for the HTTP API in front of the local run, for tools that
speak the API as openapi.yaml describes it (scripts/schemathesis.sh).

It does what API Gateway's HTTP API does with a request, as far as the
functions can tell: routes it by method and path (openapi.yaml's
operations and their `x-function`, which the template checks tie to the
template's routes), builds the payload format 2.0 event (headers
lower-cased, repeated ones joined by commas, the raw query string, the
body base64-encoded with `isBase64Encoded` when it is not UTF-8 text),
invokes the function through `cargo lambda watch`'s Lambda invoke API, and
turns its answer back into HTTP. What API Gateway answers itself, it
answers in API Gateway's shape: 404 `{"message":"Not Found"}` for no route,
400 `{"message":"Bad Request"}` for a header value with a control
character (which HTTP forbids), 500 `{"message":"Internal Server Error"}`
when the invocation fails. It does not check SigV4: locally there is no
IAM, so the functions see no caller.

    gateway.py --functions http://127.0.0.1:9000 [--port 0] [--openapi openapi.yaml] [--keep-warm 20]

`--keep-warm N` sends each function, every N seconds, a request it refuses
before doing anything (an empty body, an unknown or out-of-range query
parameter: a 400, no call, no write). `cargo lambda watch` answers a
function's idle wait for its next invocation after its `--timeout` (60 s in
scripts/local-run.sh) with a reply the Lambda runtime cannot read; the
function panics and every later invocation of it times out. A long
schemathesis run leaves functions idle that long; real Lambda does not do
this.

prints `gateway listening on http://127.0.0.1:PORT` once it serves.
"""

import argparse
import base64
import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse
import uuid

import yaml


def routes(openapi_path):
    """{(METHOD, path): function} from the document's operations."""
    with open(openapi_path) as f:
        document = yaml.safe_load(f)
    table = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "x-function" in operation:
                table[(method.upper(), path)] = operation["x-function"]
    return table


def event(method, target, headers, body):
    """The HTTP API's payload format 2.0 event for one request."""
    joined = {}
    for name, value in headers:
        name = name.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    route_key = f"{method} {target.path}"
    now = time.time()
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    value = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": target.path,
        "rawQueryString": target.query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": joined.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": target.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if body:
        value["body"] = text
    return value


def invoke(functions, function, value):
    """(status, body) of one invocation through the Lambda invoke API."""
    upstream = urllib.parse.urlsplit(functions)
    connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
    try:
        connection.request(
            "POST",
            f"/2015-03-31/functions/{function}/invocations",
            json.dumps(value).encode(),
            {"content-type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def keep_warm(table, functions, seconds):
    """Forever: each function, a request it refuses unread, every `seconds`."""
    refused = {"POST": ("", b""), "GET": ("keep_warm=1", b"")}
    while True:
        for (method, path), function in table.items():
            query, body = refused[method]
            target = urllib.parse.urlsplit(f"{path}?{query}" if query else path)
            headers = [("content-type", "application/json"), ("user-agent", "keep-warm")]
            try:
                invoke(functions, function, event(method, target, headers, body))
            except OSError:
                pass
        time.sleep(seconds)


def handler_for(table, functions):
    class Gateway(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass  # one line per request would drown the run's output

        def body(self):
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def answer(self, status, headers, payload):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def own(self, status, message):
            payload = json.dumps({"message": message}).encode()
            self.answer(status, [("content-type", "application/json")], payload)

        def route(self):
            body = self.body()
            target = urllib.parse.urlsplit(self.path)
            function = table.get((self.command, target.path))
            if function is None:
                return self.own(404, "Not Found")
            headers = [(n, v) for n, v in self.headers.items() if n.lower() != "content-length"]
            if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for _, v in headers for c in v):
                return self.own(400, "Bad Request")
            status, raw = invoke(functions, function, event(self.command, target, headers, body))
            try:
                result = json.loads(raw) if status == 200 else None
                status = int(result["statusCode"])
            except (ValueError, TypeError, KeyError):
                # The function failed (a panic, an error, a timeout): API
                # Gateway answers for it.
                return self.own(500, "Internal Server Error")
            out = list((result.get("headers") or {}).items())
            for name, values in (result.get("multiValueHeaders") or {}).items():
                out += [(name, v) for v in values]
            text = result.get("body") or ""
            data = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
            self.answer(status, out, data)

        def __getattr__(self, name):
            # Every method (TRACE, QUERY, any token) is routed, as by API
            # Gateway: one a route does not have is a 404.
            if name.startswith("do_"):
                return self.route
            raise AttributeError(name)

    return Gateway


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", required=True, help="cargo lambda watch's base URL")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--openapi", default="openapi.yaml")
    parser.add_argument("--keep-warm", type=float, default=0, metavar="SECONDS")
    args = parser.parse_args()
    table = routes(args.openapi)
    if args.keep_warm > 0:
        warm = threading.Thread(target=keep_warm, args=(table, args.functions, args.keep_warm))
        warm.daemon = True
        warm.start()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(table, args.functions))
    print(f"gateway listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
