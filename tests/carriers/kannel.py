"""A real Kannel on loopback for tests: bearerbox, smsbox and fakesmsc (Debian's ``kannel``
and ``kannel-extras``) started from a generated kannel.conf on free 127.0.0.1 ports, and
always stopped again. ``fakesmsc`` is the SMSC: it receives every part Kannel sends and
Kannel then produces the SMSC ack (DLR 8) and a final "delivered" (DLR 1) per part.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 10
FAKESMSC_PATHS = ("/usr/lib/kannel/test/fakesmsc", "/usr/local/lib/kannel/test/fakesmsc")
USERNAME = "lisoloo"
PASSWORD = "kannel-test-pw"
ADMIN_PASSWORD = "kannel-admin-pw"
SECOND_SMSC = "fake-b"


def bearerbox_path() -> str | None:
    return shutil.which("bearerbox") or shutil.which("bearerbox", path="/usr/sbin:/usr/local/sbin")


def fakesmsc_path() -> str | None:
    return shutil.which("fakesmsc") or next((path for path in FAKESMSC_PATHS if Path(path).exists()), None)


def missing_kannel() -> str | None:
    """Why Kannel cannot run here, or None when it can."""
    if bearerbox_path() is None:
        return "Kannel is not installed: no bearerbox on PATH (make test-carriers installs kannel and kannel-extras)"
    if shutil.which("smsbox") is None and shutil.which("smsbox", path="/usr/sbin:/usr/local/sbin") is None:
        return "Kannel's smsbox is not installed (Debian package kannel)"
    if fakesmsc_path() is None:
        return "Kannel's fakesmsc is not installed (Debian package kannel-extras)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningKannel:
    directory: Path
    admin_port: int = field(default_factory=free_port)
    box_port: int = field(default_factory=free_port)
    smsc_port: int = field(default_factory=free_port)
    # A second SMSC link (smsc-id fake-b), taking only messages routed to it by name: two
    # real links for the routing test (DESIGN §8).
    smsc_b_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # Inbound (MO): fakesmsc sends these ("<from> <to> text <words>"), one a second, and
    # smsbox's sms-service fetches this get-url for each (DESIGN §9).
    mo_messages: tuple[str, ...] = ()
    mo_get_url: str | None = None

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def config(self) -> str:
        return f"""
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {ADMIN_PASSWORD}
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{self.directory}/bearerbox.log"
log-level = 0
access-log = "{self.directory}/access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
denied-smsc-id = {SECOND_SMSC}
port = {self.smsc_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = {SECOND_SMSC}
allowed-smsc-id = {SECOND_SMSC}
port = {self.smsc_b_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{self.directory}/smsbox.log"
log-level = 0
# Fetch a dlr-url again if our endpoint does not answer (as a production smsbox should).
http-request-retry = 3
http-queue-delay = 1

group = sendsms-user
username = {USERNAME}
password = {PASSWORD}
concatenation = true
max-messages = 25
{self._sms_service()}"""

    def _sms_service(self) -> str:
        if self.mo_get_url is None:
            return ""
        # max-messages = 0: the get-url's answer is never sent back to the handset as a reply.
        return f"""
group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{self.mo_get_url}"
"""

    def start(self) -> RunningKannel:
        conf = self.directory / "kannel.conf"
        conf.write_text(self.config())
        bearerbox, fakesmsc = bearerbox_path(), fakesmsc_path()
        smsbox = shutil.which("smsbox") or shutil.which("smsbox", path="/usr/sbin:/usr/local/sbin")
        assert bearerbox and fakesmsc and smsbox
        self._spawn([bearerbox, str(conf)], "bearerbox.out")
        self._wait_for_port(self.box_port, "bearerbox")
        # The first link sends the MO asked for ("<from> <to> text <words>", one a second), or with
        # -m 0 none: it just stays connected and prints what arrives. The second link only listens.
        messages = self.mo_messages or ("1 2 text x",)
        self._spawn(
            [
                fakesmsc,
                "-H",
                "127.0.0.1",
                "-r",
                str(self.smsc_port),
                "-i",
                "1",
                "-m",
                str(len(self.mo_messages)),
                *messages,
            ],
            "fakesmsc.out",
        )
        self._spawn(
            [fakesmsc, "-H", "127.0.0.1", "-r", str(self.smsc_b_port), "-i", "1", "-m", "0", "1 2 text x"],
            "fakesmsc-b.out",
        )
        self._spawn([smsbox, str(conf)], "smsbox.out")
        self._wait_for_port(self.sendsms_port, "smsbox")
        self._wait_until(lambda: self.status().count("(online") >= 2, "both fake SMSCs to come online")
        return self

    def status(self) -> str:
        query = urllib.parse.urlencode({"password": ADMIN_PASSWORD})
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.admin_port}/status.txt?{query}", timeout=2
            ) as response:
                return str(response.read().decode())
        except (OSError, urllib.error.URLError):
            return ""

    def fakesmsc_lines(self, output: str = "fakesmsc.out") -> list[str]:
        """What fakesmsc received (``fakesmsc-b.out``: the second link's): ``<from> <to>
        <text|udh …|ucs-2 …>`` per part."""
        text = (self.directory / output).read_text(errors="replace")
        return [line.split(": <", 1)[1].rstrip(">") for line in text.splitlines() if "Got message" in line]

    def logs(self, limit: int = 3000) -> str:
        parts = []
        for name in ("bearerbox.log", "smsbox.log", "fakesmsc.out", "fakesmsc-b.out", "bearerbox.out", "smsbox.out"):
            path = self.directory / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-limit:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """smsbox, fakesmsc, then bearerbox: SIGTERM (Kannel shuts down cleanly), then SIGKILL."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, command: list[str], output: str) -> None:
        with (self.directory / output).open("wb") as log:
            self.processes.append(subprocess.Popen(command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT))

    def _wait_for_port(self, port: int, what: str) -> None:
        def listening() -> bool:
            with socket.socket() as probe:
                probe.settimeout(0.2)
                return probe.connect_ex(("127.0.0.1", port)) == 0

        self._wait_until(listening, f"{what} to listen on {port}")

    def _wait_until(self, condition: object, what: str) -> None:
        assert callable(condition)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if condition():
                return
            if any(process.poll() is not None for process in self.processes):
                break
            time.sleep(0.1)
        raise RuntimeError(f"Kannel did not start: waited for {what}\n{self.logs()}")
