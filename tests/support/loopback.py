"""Client sockets that play another loopback address (127.0.0.0/8 is all loopback on Linux)
without using up the machine's ephemeral ports.

A socket bound to (address, 0) takes its port at bind time, and a port taken that way is
then unusable for every plain connect() on the machine until its TIME_WAIT ends: a few
seconds of flooding from bound sockets starves every other test of ports (EADDRNOTAVAIL).
IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(), where the whole 4-tuple counts,
and closing with a zero linger sends a reset instead of leaving a TIME_WAIT behind."""

import http.client
import socket
import struct

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def connect_from(host, port, source, timeout):
    """A TCP connection to (host, port) from the loopback address `source`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


class HTTPConnectionFrom(http.client.HTTPConnection):
    """http.client.HTTPConnection whose socket comes from connect_from()."""

    def __init__(self, host, port, source, timeout=60):
        super().__init__(host, port, timeout=timeout)
        self.source = source

    def connect(self):
        self.sock = connect_from(self.host, self.port, self.source, self.timeout)
