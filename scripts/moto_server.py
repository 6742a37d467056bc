"""moto's server for DynamoDB and Secrets Manager, one request at a time.

moto's own `moto_server` is threaded, and its DynamoDB checks a condition and
then writes without a lock, so two concurrent conditional writes can both
succeed, which real DynamoDB never allows. Served by a single thread, every
request is atomic, and tests measure our code rather than the emulator.

Prints "moto listening on http://HOST:PORT" once it accepts connections.
"""

import argparse
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class OneAtATime:
    """Runs the wrapped WSGI app under a lock, body included."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    app = OneAtATime(DomainDispatcherApplication(create_backend_app))
    # Single-threaded, HTTP/1.0: each connection is served whole and closed.
    server = make_server(args.host, args.port, app, threaded=False)
    print(f"moto listening on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
