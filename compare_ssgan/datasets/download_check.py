"""A quick reachability check of download hosts, before TFDS starts downloading.

TFDS opens its connections without a timeout and retries for minutes: offline, a run would
sit for about 200 s (longer when a firewall drops packets silently) and then blame the
network anyway. One DNS lookup and one TCP connect with a short timeout per host tell the
same thing in seconds.
"""

import socket
import threading
import time
import urllib.parse
import urllib.request

TIMEOUT_SECONDS = 10.0   # per lookup and per connect; a host check ends within ~2x this

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def hosts_of(urls):
  """Distinct (scheme, host, port) of `urls`, in first-seen order."""
  seen = []
  for url in urls:
    parts = urllib.parse.urlsplit(str(url))
    if not parts.hostname:
      continue
    entry = (parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme, 80))
    if entry not in seen:
      seen.append(entry)
  return seen


def _via_proxy(scheme, host, port):
  """The (host, port) a download really connects to: the scheme's proxy unless bypassed."""
  proxy = urllib.request.getproxies().get(scheme)
  if not proxy or urllib.request.proxy_bypass(host):
    return host, port
  parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
  return parts.hostname or host, parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


def _resolve(host, port, timeout):
  """getaddrinfo with a timeout (it has none of its own): addresses, or raises OSError."""
  result = {}

  def lookup():
    try:
      result["addrs"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
      result["error"] = e

  thread = threading.Thread(target=lookup, daemon=True)
  thread.start()
  thread.join(timeout)
  if thread.is_alive():
    raise OSError(f"DNS lookup of {host} got no answer within {timeout:.0f} s")
  if "error" in result:
    raise OSError(f"DNS lookup of {host} failed: {result['error']}")
  return result["addrs"]


def unreachable(urls, timeout=TIMEOUT_SECONDS):
  """None when every host of `urls` accepts a TCP connection, else why the first one failed.

  Hosts are checked one after the other and the first failure ends the check, so an offline
  machine learns it within about 2 * `timeout` seconds.
  """
  for scheme, host, port in hosts_of(urls):
    target = _via_proxy(scheme, host, port)
    try:
      addrs = _resolve(target[0], target[1], timeout)
      _connect(addrs, timeout)
    except OSError as e:
      via = f" (through proxy {target[0]}:{target[1]})" if target != (host, port) else ""
      return f"cannot reach {host}:{port}{via}: {e}"
  return None


def _connect(addrs, timeout):
  """A TCP connection to the first address that accepts one within `timeout` in all."""
  deadline = time.monotonic() + timeout
  error = OSError("no address")
  for family, kind, proto, _, address in addrs:
    left = deadline - time.monotonic()
    if left <= 0:
      break
    try:
      with socket.socket(family, kind, proto) as sock:
        sock.settimeout(left)
        sock.connect(address)
        return
    except socket.timeout:
      error = OSError(f"no answer to a TCP connect within {timeout:.0f} s")
    except OSError as e:
      error = e
  raise error
