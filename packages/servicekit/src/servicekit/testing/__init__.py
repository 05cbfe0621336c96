"""Real test servers on loopback (redis-server, nginx) and the pytest plugin that provides them."""

from servicekit.testing.servers import NginxServer, RedisServer, free_port, wait_for_port

__all__ = ["NginxServer", "RedisServer", "free_port", "wait_for_port"]
