"""Local backing servers run as child processes on loopback: used by tests and by the fleet runner."""

from servicekit.local.postgres import PostgresServer
from servicekit.local.servers import NginxServer, RedisServer, free_port, nginx_main_block, wait_for_port

__all__ = ["NginxServer", "PostgresServer", "RedisServer", "free_port", "nginx_main_block", "wait_for_port"]
