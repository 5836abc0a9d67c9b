"""redis-server for black-box tests: 127.0.0.1, a free port, no persistence,
stopped by its pid."""
import signal
import socket
import subprocess

from nexu_server import eventually, free_port


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d" % self.port
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert eventually(10, self.is_up), "redis-server did not start"

    def is_up(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def keys(self):
        """Every key name (for checking what Redis holds)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"KEYS *\r\n")
            data = b""
            while not data.endswith(b"\r\n") or data.count(b"\r\n") < 1 + 2 * int(
                    data[1:data.index(b"\r\n")] or 0):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        lines = data.split(b"\r\n")
        return [line.decode() for line in lines[2::2] if line]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
