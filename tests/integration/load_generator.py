"""Steady HTTP/1.1 load on a loopback port, for tests that change something under traffic (a
certificate rotation, a reload) and must show that no request failed meanwhile.

Several threads send GETs back to back: some keep one connection alive across requests, as a
pooled client does, and some open a new connection per request, so that both an established
connection and the setup of a new one are exercised at every moment. A request fails when it
raises (refused, reset, closed early, timed out) or answers anything but 200."""
import http.client
import threading
import time


class LoadGenerator:
    def __init__(self, port, path="/load", keep_alive_threads=2, new_connection_threads=2,
                 timeout=5.0, pause=0.005):
        """`timeout` bounds every socket operation of a request (connect, send, each read);
        `pause` spaces a thread's requests so that the load stays steady but modest (CI also
        runs this under ASan)."""
        self.port = port
        self.path = path
        self.timeout = timeout
        self.pause = pause
        self.modes = (["keep-alive"] * keep_alive_threads
                      + ["new-connection"] * new_connection_threads)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads = []
        self._ok = {mode: 0 for mode in set(self.modes)}
        self._failures = []
        self._started_at = None

    def start(self):
        self._started_at = time.monotonic()
        for index, mode in enumerate(self.modes):
            thread = threading.Thread(target=self._run, args=(index, mode),
                                      name=f"load-{mode}-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def ok_count(self):
        """Successful requests so far (while running, for bounded waits on progress)."""
        with self._lock:
            return sum(self._ok.values())

    def ok_by_mode(self):
        with self._lock:
            return dict(self._ok)

    def stop(self):
        """Stops the threads after their request in flight; returns (ok_count, failures), each
        failure a line naming when, which thread and what went wrong."""
        self._stopping.set()
        for thread in self._threads:
            # A request ends within a few socket timeouts (connect, send, read).
            thread.join(timeout=4 * self.timeout + 5)
            if thread.is_alive():
                self._record_failure(thread.name, "the thread did not stop: a request hangs")
        self._threads = []
        with self._lock:
            return sum(self._ok.values()), list(self._failures)

    # --- the threads ---------------------------------------------------------------------

    def _run(self, index, mode):
        name = f"{mode}-{index}"
        connection = None
        sequence = 0
        while not self._stopping.is_set():
            sequence += 1
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                        timeout=self.timeout)
            try:
                connection.request("GET", f"{self.path}?thread={index}&n={sequence}")
                answer = connection.getresponse()
                body = answer.read()  # all of it: a short body raises IncompleteRead
                if answer.status == 200:
                    with self._lock:
                        self._ok[mode] += 1
                else:
                    self._record_failure(name, f"request {sequence}: status {answer.status}: "
                                               f"{body[:200]!r}")
            except (OSError, http.client.HTTPException) as error:
                self._record_failure(name, f"request {sequence}: {type(error).__name__}: "
                                           f"{error}")
                connection.close()
                connection = None
            if mode == "new-connection" and connection is not None:
                connection.close()
                connection = None
            if self.pause:
                self._stopping.wait(self.pause)
        if connection is not None:
            connection.close()

    def _record_failure(self, name, what):
        elapsed = time.monotonic() - self._started_at
        with self._lock:
            self._failures.append(f"t+{elapsed:.2f}s {name}: {what}")
