#!/usr/bin/python3
# Managed by Ansible (govnet role "app"): local changes are overwritten.
"""Reference e-services application of the Karbala governorate (a stand-in for the real applications).

Just enough to prove the three tiers: the portal proxies HTTPS requests here; a service request is written to the
PostgreSQL primary and acknowledged with its reference number only after the commit returned, so every
acknowledged request is in the database. Reads come from the primary, or from a hot standby with `?from=replica`.
Standard library plus Debian's python3-psycopg2; one database connection per worker thread.

  POST /requests        {"department": "...", "service": "...", "applicant": "..."} -> 201 {"reference": ...}
  GET  /requests/<ref>  [?from=replica]                                              -> 200 the request, or 404
  GET  /health                                                                       -> 200, or 503 naming the fault
"""

from __future__ import annotations

import configparser
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg2

SCHEMA = """
CREATE TABLE IF NOT EXISTS service_request (
    id bigserial PRIMARY KEY,
    reference text GENERATED ALWAYS AS ('{prefix}-' || lpad(id::text, 8, '0')) STORED UNIQUE,
    department text NOT NULL,
    service text NOT NULL,
    applicant text NOT NULL,
    served_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
FIELDS = ("department", "service", "applicant")
REFERENCE = re.compile(r"^[A-Z]{2,8}-[0-9]{8}$")


class Database:
    """Pooled connections to the primary (writes) and the replicas (reads on request), opened on demand. The schema
    is created on the first successful connection to the primary, so the application may start before it."""

    def __init__(self, config: configparser.ConfigParser) -> None:
        db = config["database"]
        self.common = {
            "dbname": db["dbname"],
            "user": db["user"],
            "password": db["password"],
            "sslmode": "require",
            "connect_timeout": int(db["timeout"]),
            "application_name": f"govnet-app {config['server']['name']}",
        }
        self.primary = (db["host"], int(db["port"]))
        self.replicas = [(h, int(config["replica"]["port"])) for h in config["replica"]["hosts"].split()]
        self.schema = SCHEMA.format(prefix=config["server"]["reference_prefix"])
        self.idle: dict[tuple[str, int], list[Any]] = {}
        self.lock = threading.Lock()
        self.schema_ready = False

    def take(self, where: tuple[str, int]) -> Any:
        with self.lock:
            idle = self.idle.setdefault(where, [])
            conn = idle.pop() if idle else None
        if conn is None:
            conn = psycopg2.connect(host=where[0], port=where[1], **self.common)
        if where == self.primary and not self.schema_ready:
            with conn, conn.cursor() as cur:
                cur.execute(self.schema)
            self.schema_ready = True
        return conn

    def run(self, where: tuple[str, int], sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement in its own transaction; a broken connection is dropped, never handed out again."""
        conn = self.take(where)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, args)
                rows = cur.fetchall() if cur.description else []
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            conn.close()
            raise
        with self.lock:
            self.idle[where].append(conn)
        return rows


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the portal reuses its upstream connections
    server_version = "govnet-app/1"
    sys_version = ""
    db: Database
    name: str

    def reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def database_down(self, exc: Exception, where: tuple[str, int]) -> None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.reply(503, {"error": f"database {where[0]}:{where[1]} unavailable: {first}", "server": self.name})

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/health":
            try:
                self.db.run(self.db.primary, "SELECT 1")
            except psycopg2.Error as exc:
                return self.database_down(exc, self.db.primary)
            return self.reply(200, {"status": "ok", "server": self.name})
        match = re.fullmatch(r"/requests/([A-Z0-9-]+)", path)
        if not match or not REFERENCE.match(match[1]):
            return self.reply(404, {"error": "not found"})
        where = self.db.replicas[0] if query == "from=replica" and self.db.replicas else self.db.primary
        try:
            rows = self.db.run(
                where,
                "SELECT reference, department, service, applicant, served_by, created_at"
                " FROM service_request WHERE reference = %s",
                (match[1],),
            )
        except psycopg2.Error as exc:
            return self.database_down(exc, where)
        if not rows:
            return self.reply(404, {"error": f"no request {match[1]}", "read_from": where[0]})
        record = dict(zip(("reference", *FIELDS, "served_by", "created_at"), rows[0], strict=True))
        return self.reply(200, {**record, "read_from": where[0], "server": self.name})

    def do_POST(self) -> None:
        if self.path != "/requests":
            return self.reply(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            values = tuple(str(body[f])[:200] for f in FIELDS)
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": f"a JSON object with {', '.join(FIELDS)} is required"})
        try:
            rows = self.db.run(
                self.db.primary,
                "INSERT INTO service_request (department, service, applicant, served_by)"
                " VALUES (%s, %s, %s, %s) RETURNING reference",
                (*values, self.name),
            )
        except psycopg2.Error as exc:
            return self.database_down(exc, self.db.primary)
        # Only now, after the commit returned, is the request acknowledged.
        return self.reply(201, {"reference": rows[0][0], "server": self.name})

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it `format`
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main(path: str) -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.read(path)
    server = config["server"]
    db = Database(config)
    try:
        db.run(db.primary, "SELECT 1")
    except psycopg2.Error as exc:
        # Start anyway: /health names the fault, and the schema is created on the first successful connection.
        sys.stderr.write(f"govnet-app: database unavailable at start: {exc}\n")
    Handler.db, Handler.name = db, server["name"]
    httpd = ThreadingHTTPServer((server["listen"], int(server["port"])), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(server["certificate"], server["key"])
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    sys.stderr.write(f"govnet-app: serving https on {server['listen']}:{server['port']}\n")
    httpd.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/etc/govnet-app/app.conf")
