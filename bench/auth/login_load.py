"""Login load for bench/auth/run.sh.

  login_load.py BASE USERNAME PASSWORD closed SECONDS CONCURRENCY
      as many logins as CONCURRENCY clients can make: prints logins/s
  login_load.py BASE USERNAME PASSWORD open SECONDS RATE
      logins started at a fixed RATE per second whatever the answers (an
      open-loop flood): prints the answers by status
"""
import collections
import concurrent.futures
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def login(base, body):
    request = urllib.request.Request(base + "/api/v1/auth/login", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def main():
    base, username, password, mode, seconds, amount = sys.argv[1:7]
    seconds, amount = float(seconds), float(amount)
    body = json.dumps({"username": username, "password": password}).encode()
    statuses = collections.Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def record(status):
        with lock:
            statuses[status] += 1

    if mode == "closed":
        def client():
            while time.monotonic() < deadline:
                record(login(base, body))
        threads = [threading.Thread(target=client) for _ in range(int(amount))]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        print(json.dumps({"logins_per_s": statuses[200] / elapsed, "statuses": statuses}))
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=256) as pool:
            started = time.monotonic()
            sent = 0
            while time.monotonic() < deadline:
                due = started + sent / amount
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(lambda: record(login(base, body)))
                sent += 1
        print(json.dumps({"rate_per_s": amount, "sent": sent, "statuses": statuses}))


if __name__ == "__main__":
    main()
