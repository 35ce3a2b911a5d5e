"""The blocking client: each call on a Unix-socket connection of its own."""
import socket
from typing import Any, Dict, Optional

from ._protocol import Exchange, ProgressCallback, socket_path, unavailable


class Client:
    """Talks to one volumed. `timeout` bounds each call in seconds (`None`: wait as long as
    the daemon works, as a commit of a large change may take minutes)."""

    _default: Optional["Client"] = None

    def __init__(self, path: Optional[str] = None, timeout: Optional[float] = None) -> None:
        self.path = socket_path(path)
        self.timeout = timeout

    @classmethod
    def default(cls) -> "Client":
        """The process's client: the one `use` set, else one on `$VOLUMED_SOCKET` or the default socket."""
        return cls._default or cls()

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, on_progress: Optional[ProgressCallback] = None,
             timeout: Optional[float] = None) -> Any:
        exchange = Exchange(method, params or {}, on_progress)
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(timeout if timeout is not None else self.timeout)
            connection.connect(self.path)
        except OSError as error:
            raise unavailable(self.path, error) from error
        with connection, connection.makefile("rb") as replies:
            try:
                connection.sendall(exchange.request_line())
                for line in replies:
                    done, result = exchange.read(line)
                    if done:
                        return result
            except OSError as error:
                raise unavailable(self.path, error) from error
        raise unavailable(self.path, f"the daemon closed the connection during {method}")


def use(path: Optional[str] = None, timeout: Optional[float] = None) -> Client:
    """Makes every call of this process go to the daemon at `path`."""
    Client._default = Client(path, timeout)
    return Client._default
