"""One UDP socket to a BMC, with retransmission bounded by a deadline.

IPMI over LAN is request/response over UDP with no transport-level retries: the
client must resend. We resend with an adaptive timeout (RTO): it starts at
``MIN_RTO``, doubles on every unanswered send up to ``MAX_RTO`` and, as in TCP
(Karn's rule), stays backed off until an exchange is answered on its first send,
whose round-trip time then sets it again. That keeps a lossy link fast (a lost
packet costs ~0.25 s) without flooding a slow BMC with duplicates (ipmi_sim and many
real BMCs queue them and execute each one).

Datagrams that are not the answer we wait for (late answers to an earlier send,
answers for another session, garbage) are skipped, never raised.
"""

import socket
import time

from ocfkit.ipmi.errors import IpmiError, NoAnswer, NothingListening

MIN_RTO = 0.25
MAX_RTO = 2.0


class Link:
    def __init__(self, host, port, log=None):
        self.host = host
        self.port = port
        self.log = log
        self.rto = MIN_RTO
        self.srtt = None
        self.refused = False      # last failure was ICMP port unreachable
        self.answered = False     # the BMC has answered at least once
        self.last_os_error = None
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise IpmiError(f"cannot resolve BMC address '{host}': {reason}") from None
        family, _, _, _, address = infos[0]
        self.address = address
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            # connect() makes the kernel report ICMP port unreachable (nothing listening)
            # and drop datagrams from anyone but the BMC.
            self.sock.connect(address)
        except OSError as exc:
            self.sock.close()
            raise IpmiError(f"cannot reach BMC {self.where}: {exc.strerror or exc}") from None

    @property
    def where(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def close(self):
        self.sock.close()

    def debug(self, message, *args):
        if self.log is not None:
            self.log.debug(message, *args)

    def exchange(self, what, build, accept, deadline, max_sends=0):
        """Send ``build()`` until ``accept(datagram)`` returns non-None; return that.

        ``build`` is called for every send (a resend may need a new sequence number).
        Raises NoAnswer when ``deadline`` passes or after ``max_sends`` unanswered sends
        (0: no limit but the deadline). Raises NothingListening at the second ICMP
        port unreachable if this BMC never answered: a wrong address or port should
        fail in a blink, while a BMC that answered before may just be restarting.
        """
        sends = refusals = 0
        rto = self.rto
        while True:
            if deadline.expired:
                raise self._no_answer(what, sends)
            packet = build()
            sent_at = time.monotonic()
            sends += 1
            if sends > 1:
                self.debug("%s: resend %d (timeout %.2fs)", what, sends, rto)
            try:
                self.sock.send(packet)
            except OSError as exc:
                self._note_error(exc)
            wait_end = min(sent_at + rto, deadline.end)
            while True:
                timeout = wait_end - time.monotonic()
                if timeout <= 0:
                    break
                self.sock.settimeout(timeout)
                try:
                    data = self.sock.recv(4096)
                except (socket.timeout, BlockingIOError):
                    break
                except OSError as exc:
                    # ICMP errors arrive here; do not spin: wait out this send's timeout.
                    self._note_error(exc)
                    refusals += self.refused
                    if refusals >= 2 and not self.answered:
                        raise self._no_answer(what, sends) from None
                    time.sleep(max(0.0, wait_end - time.monotonic()))
                    break
                self.answered = True
                self.refused = False
                result = accept(data)
                if result is not None:
                    if sends == 1:
                        self._sample(time.monotonic() - sent_at)
                    return result
            if max_sends and sends >= max_sends:
                raise self._no_answer(what, sends)
            rto = min(rto * 2, MAX_RTO)
            self.rto = rto  # Karn: stay backed off until a clean sample

    def _sample(self, rtt):
        self.srtt = rtt if self.srtt is None else 0.875 * self.srtt + 0.125 * rtt
        self.rto = min(MAX_RTO, max(MIN_RTO, 3 * self.srtt))

    def _note_error(self, exc):
        self.last_os_error = exc
        self.refused = isinstance(exc, ConnectionRefusedError)
        self.debug("socket: %s", exc.strerror or exc)

    def _no_answer(self, what, sends):
        if self.refused:
            return NothingListening(
                f"nothing listening at {self.where} (ICMP port unreachable): "
                f"no IPMI service there, or a wrong ipport", sends)
        detail = ""
        if self.last_os_error is not None and not self.answered:
            detail = f"; last network error: {self.last_os_error.strerror or self.last_os_error}"
        return NoAnswer(f"no answer from BMC {self.where} to {what} "
                        f"after {sends} send(s){detail}", sends)
