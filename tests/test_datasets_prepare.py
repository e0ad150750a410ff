"""TFDS's real prepare path, offline: dependencies present, unreachable hosts fail fast.

`tfds.testing.mock_data` replaces `download_and_prepare`, so these tests call TFDS's own
for registered builders (builders defined in a test file would not reach TFDS's
package-resource code, which is where a missing dependency showed up). No outside host is
contacted: downloads are pointed at a closed localhost port or an `.invalid` name.
"""

import socket
import time

import pytest

from compare_ssgan import datasets
from compare_ssgan.datasets import download_check
from compare_ssgan.datasets import tfds_datasets

FAST_SECONDS = 30


def _closed_port():
  """A localhost port with nothing listening (bound, then released)."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_registered_builder_prepares_up_to_its_manual_files(tmp_path):
  """celeb_a_hq's own download_and_prepare must get as far as asking for manual files."""
  manual = tmp_path / "manual"
  manual.mkdir()
  ds = datasets.get_dataset("celeb_a_hq_128", tfds_data_dir=str(tmp_path / "tfds"),
                            tfds_manual_dir=str(manual))
  with pytest.raises(tfds_datasets.DatasetUnavailableError) as e:
    ds.eval_images(1)
  assert "module" not in str(e.value).lower(), str(e.value)
  assert "manual download" in str(e.value)
  assert isinstance(e.value.__cause__, AssertionError)
  assert "Manual directory" in str(e.value.__cause__)


def _prepare_cifar10(monkeypatch, tmp_path, url):
  monkeypatch.setattr(tfds_datasets, "_download_urls", lambda builder: [url])
  ds = datasets.get_dataset("cifar10", tfds_data_dir=str(tmp_path / "tfds"))
  start = time.monotonic()
  with pytest.raises(tfds_datasets.DatasetUnavailableError) as e:
    ds.eval_images(1)
  return str(e.value), time.monotonic() - start


def test_refused_connection_fails_fast_with_one_line(monkeypatch, tmp_path):
  port = _closed_port()
  msg, seconds = _prepare_cifar10(monkeypatch, tmp_path, f"http://127.0.0.1:{port}/c.tgz")
  assert seconds < FAST_SECONDS
  assert f"127.0.0.1:{port}" in msg and "--tfds_data_dir" in msg
  assert "\n" not in msg


def test_unresolvable_host_fails_fast(monkeypatch, tmp_path):
  msg, seconds = _prepare_cifar10(monkeypatch, tmp_path, "https://cifar.invalid/c.tgz")
  assert seconds < FAST_SECONDS
  assert "cifar.invalid" in msg and "DNS" in msg and "--tfds_data_dir" in msg


def test_silent_dns_is_cut_short(monkeypatch):
  monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(5))
  start = time.monotonic()
  why = download_check.unreachable(["http://slow.example/x"], timeout=0.3)
  assert time.monotonic() - start < 2
  assert "no answer" in why


def test_reachable_host_passes_and_proxy_is_checked_instead(monkeypatch):
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    open_port = server.getsockname()[1]
    assert download_check.unreachable([f"http://127.0.0.1:{open_port}/a"]) is None
    closed = _closed_port()
    for var in ("no_proxy", "NO_PROXY"):
      monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed}")
    why = download_check.unreachable(["http://data.example/a"])
    assert f"through proxy 127.0.0.1:{closed}" in why
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{open_port}")
    assert download_check.unreachable(["http://data.example/a"]) is None


def test_hosts_are_deduplicated_with_default_ports():
  urls = ["http://a.example/x", "http://a.example/y", "https://a.example/z",
          "http://b.example:8080/w"]
  assert download_check.hosts_of(urls) == [("http", "a.example", 80),
                                           ("https", "a.example", 443),
                                           ("http", "b.example", 8080)]


def test_lsun_without_tensorflow_io_points_to_lmdb_before_downloading(monkeypatch,
                                                                       tmp_path):
  def probe():
    raise NotImplementedError("unable to open file: libtensorflow_io.so (undefined symbol)")

  monkeypatch.setitem(tfds_datasets._PREPARE_NEEDS, "lsun-bedroom", ("tensorflow-io", probe))
  monkeypatch.setattr(tfds_datasets, "_download_urls",
                      lambda builder: pytest.fail("no download may start"))
  ds = datasets.get_dataset("lsun-bedroom", tfds_data_dir=str(tmp_path / "tfds"))
  with pytest.raises(tfds_datasets.DatasetUnavailableError) as e:
    ds.eval_images(1)
  msg = str(e.value)
  assert "tensorflow-io" in msg
  assert "undefined symbol" in msg and "lsun_lmdb.path" in msg and "\n" not in msg
