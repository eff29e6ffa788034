"""Exit 0 once the run command's four nodes are healthy and agree on the demo data: each /healthz at
200, all four at one applied height and state root, the demo piles at the regulator's node.
    python .ci/demo_committed.py BASE_PORT [TIMEOUT_S]
Uses only what a node's own lock installs (requests), so it runs in the run command's virtualenv."""

import sys
import time

import requests

PASSWORD = "pilechain-demo"  # the demo logins' password, printed by the run command


def login(url: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{url}/accounts/login/", timeout=10)
    s.post(f"{url}/accounts/login/", data={"username": "admin", "password": PASSWORD,
                                           "csrfmiddlewaretoken": s.cookies["csrftoken"]},
           headers={"Referer": f"{url}/accounts/login/"}, timeout=10)
    if "sessionid" not in s.cookies:
        raise SystemExit(f"cannot log in as admin at {url}")
    return s


def main() -> int:
    base, timeout = int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 120
    urls = [f"http://127.0.0.1:{base + i}" for i in range(4)]
    for url in urls:
        r = requests.get(f"{url}/healthz", timeout=10)
        print(f"{url}/healthz {r.status_code} {r.text}")
        if r.status_code != 200:
            return 1
    sessions = {url: login(url) for url in urls}
    deadline = time.monotonic() + timeout
    while True:
        status = {url: s.get(f"{url}/api/ledger/status/", timeout=10).json() for url, s in sessions.items()}
        heads = {(st["applied_height"], st["state_root"]) for st in status.values()}
        if len(heads) == 1 and next(iter(heads))[0] >= 3:
            break
        if time.monotonic() > deadline:
            print(f"the nodes do not agree after {timeout:.0f} s: {status}")
            return 1
        time.sleep(1)
    piles = sessions[urls[3]].get(f"{urls[3]}/api/piles/", timeout=10).json()["count"]
    height, root = heads.pop()
    print(f"four nodes at height {height}, state root {root}; {piles} demo piles at the regulator's node")
    return 0 if piles > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
