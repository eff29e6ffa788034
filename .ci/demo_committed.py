"""Exit 0 once the run command's five nodes are healthy and agree on the demo data: each /healthz at
200, all five at one applied height and state root, both operators' demo piles at the regulator's node.
    python .ci/demo_committed.py BASE_PORT [TIMEOUT_S]
Uses only what a node's own lock installs (requests), so it runs in the run command's virtualenv."""

import sys
import time

import requests

PASSWORD = "pilechain-demo"  # the demo logins' password, printed by the run command
NODES = 5  # OPERATOR-A, METROLOGY, GRID, REGULATOR, OPERATOR-B on consecutive ports (config.localnet)
REGULATOR = 3


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
    urls = [f"http://127.0.0.1:{base + i}" for i in range(NODES)]
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
    regulator = urls[REGULATOR]
    rows = sessions[regulator].get(f"{regulator}/api/piles/?page_size=200", timeout=10).json()
    operators = {row.get("operator") for row in rows["results"]}
    height, root = heads.pop()
    print(f"{NODES} nodes at height {height}, state root {root}; {rows['count']} demo piles of "
          f"{', '.join(sorted(map(str, operators)))} at the regulator's node")
    return 0 if {"OPERATOR-A", "OPERATOR-B"} <= operators else 1


if __name__ == "__main__":
    sys.exit(main())
