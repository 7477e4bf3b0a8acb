"""Runs inside one pod's network namespace (`ip netns exec NS python3 podagent.py ...`).

`listen NAME PORT/PROTO...` answers every TCP connection and UDP datagram on those
ports with NAME, so a probe knows which pod answered; it prints `ready` once every
socket is bound. While its stdin stays open it also probes from the pod: each line
read is a JSON list of targets, answered by one JSON line of verdicts, all targets
probed at once (the harness keeps one such agent per pod instead of starting a
process per probe). `probe` does the same once, for a caller that holds no agent.
Standard library only: this file is run by path, never imported by the harness.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import threading


def listen(name: str, specs: list[str]) -> None:
    answer = name.encode()
    selector = selectors.DefaultSelector()
    for spec in specs:
        port_text, proto = spec.split("/")
        port = int(port_text)
        if proto == "TCP":
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("0.0.0.0", port))
            server.listen(128)
        elif proto == "UDP":
            server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            server.bind(("0.0.0.0", port))
        else:
            continue  # SCTP is left out by the caller when the kernel lacks it
        server.setblocking(False)
        selector.register(server, selectors.EVENT_READ, proto)
    print("ready", flush=True)
    threading.Thread(target=serve_probes, daemon=True).start()
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                if key.data == "TCP":
                    conn, _ = sock.accept()
                    with conn:
                        conn.sendall(answer)
                else:
                    _, peer = sock.recvfrom(512)
                    sock.sendto(answer, peer)
            except OSError:
                continue  # a peer that went away; keep serving the others


def probe_one(ip: str, port: int, proto: str, timeout: float) -> str:
    """`answer:NAME` (reached, NAME answered), `refused` (reached a closed port) or `timeout`."""
    kind = socket.SOCK_STREAM if proto == "TCP" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        try:
            if proto == "TCP":
                sock.connect((ip, port))
                # The handshake already proved the path; the name may come a little later
                # on a busy machine.
                sock.settimeout(max(timeout, 3.0))
                return "answer:" + sock.recv(512).decode(errors="replace")
            sock.connect((ip, port))
            sock.send(b"?")
            return "answer:" + sock.recv(512).decode(errors="replace")
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "timeout"
        except OSError as error:
            return f"error:{error.strerror or error}"


def serve_probes() -> None:
    """Probe requests from stdin until it closes; then only the listener stays."""
    for line in sys.stdin:
        try:
            print(json.dumps(probe_all(json.loads(line))), flush=True)
        except (BrokenPipeError, ValueError):
            return


def probe_all(targets: list[dict[str, object]]) -> list[str]:
    results: list[str] = [""] * len(targets)

    def run(index: int, target: dict[str, object]) -> None:
        results[index] = probe_one(
            str(target["ip"]),
            int(str(target["port"])),
            str(target["proto"]),
            float(str(target["timeout"])),
        )

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    if sys.argv[1] == "listen":
        listen(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "probe":
        for result in probe_all([json.loads(x) for x in sys.stdin.read().splitlines() if x]):
            print(result)
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")


if __name__ == "__main__":
    main()
