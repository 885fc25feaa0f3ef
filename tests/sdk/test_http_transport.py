"""The SDK's HTTP transport: redirects, the environment's proxy and CA bundle, forms, streams."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess

import certifi
import pytest

from runs.sdk import StudioConnectionError, StudioError
from runs.sdk.http import Client, _pool
from tests.sdk.conftest import QUICK
from tests.sdk.fake import FakeServer


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_a_redirect_is_refused_naming_where_it_points(fake_server, fake):
    target = "https://studio.example.com/api/w/team/runs"
    fake.script("POST", r"/runs$", (301, b"", {"Location": target}))
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    with pytest.raises(StudioError, match=f"redirects to {target}; set the studio URL") as err:
        client.json("POST", client.ws_path("/runs"), json_body={"experiment": "e"})
    assert err.value.status == 301
    # Neither followed (as a GET, or with the token to another host) nor retried.
    assert [r.method for r in fake.requests] == ["POST"]


def test_requests_go_through_the_environments_proxy_with_its_credentials(
    fake_server, fake, monkeypatch
):
    # The fake studio serves a proxy's absolute-form requests as well: it stands in for both.
    host = fake_server.url.removeprefix("http://")
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:s3cret@{host}")
    client = Client("http://studio.invalid", "t", "team", backoff=QUICK)
    document = client.json("POST", client.ws_path("/runs"), json_body={"experiment": "e"})
    assert document["runId"]
    (request,) = fake.requests
    assert request.path == "/api/w/team/runs"
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert headers["authorization"] == "Bearer t"


def test_a_socks_proxy_is_refused_saying_so(monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    client = Client("http://studio.example.com", "t", "team", retries=3, backoff=QUICK)
    with pytest.raises(StudioError, match="'socks5://127.0.0.1:1080' is not an http:// or https"):
        client.json("GET", client.ws_path("/runs/x"))


def test_no_proxy_hosts_are_reached_directly(fake_server, fake, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = Client(fake_server.url, "t", "team", retries=0, backoff=QUICK)
    assert client.json("POST", client.ws_path("/runs"), json_body={"experiment": "e"})["runId"]
    assert "proxy-authorization" not in {name.lower() for name in fake.requests[0].headers}


def test_https_is_verified_against_the_environments_bundle_else_certifis(tmp_path, monkeypatch):
    assert _pool("https://studio.example.com", {}).connection_pool_kw["ca_certs"] == (
        certifi.where()
    )
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert _pool("https://studio.example.com", {}).connection_pool_kw["ca_certs"] == str(bundle)


def test_a_form_with_a_file_is_sent_as_multipart(fake_server, fake, tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00\x01binary\xff")
    fake.script("POST", r"/files$", (201, {"name": "outputs/weights.bin"}))
    client = Client(fake_server.url, "t", "team", backoff=QUICK)
    with open(path, "rb") as fh:
        client.send(
            "POST",
            client.ws_path("/runs/r1/files"),
            data={"name": "outputs/weights.bin", "kind": "output"},
            files={"file": (path.name, fh)},
        )
    (request,) = fake.requests
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="name"\r\n\r\noutputs/weights.bin\r\n' in request.body
    assert b'filename="weights.bin"' in request.body
    assert b"\x00\x01binary\xff" in request.body


def test_a_streamed_answer_is_read_from_raw_and_the_query_is_encoded(fake_server, fake):
    fake.script("GET", r"/files/content$", (200, b"line 1\nline 2\n"))
    client = Client(fake_server.url, "t", "team", backoff=QUICK)
    params = {"name": "logs/a b&c.txt"}
    with client.request(
        "GET", client.ws_path("/runs/r1/files/content"), params=params, stream=True
    ) as answer:
        assert answer.raw.read() == b"line 1\nline 2\n"
    assert fake.requests[0].query == [("name", "logs/a b&c.txt")]
    # The connection is usable afterwards.
    assert client.json("POST", client.ws_path("/runs"), json_body={"experiment": "e"})["runId"]


@pytest.fixture
def tls_server(tmp_path):
    """The fake studio over https, its certificate (for 127.0.0.1) self-signed."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = FakeServer(tls=context)
    server.cert = cert
    yield server
    server.close()


def test_https_with_the_studios_certificate_in_the_bundle(tls_server, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.cert))
    client = Client(tls_server.url, "t", "team", backoff=QUICK)
    assert client.json("POST", client.ws_path("/runs"), json_body={"experiment": "e"})["runId"]
    assert tls_server.studio.requests[0].headers["Authorization"] == "Bearer t"


def test_https_with_an_unknown_certificate_is_refused_before_anything_is_sent(tls_server):
    client = Client(tls_server.url, "t", "team", retries=0, backoff=QUICK)
    with pytest.raises(StudioConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client.json("GET", client.ws_path("/runs/x"))
    assert tls_server.studio.requests == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_opens_its_own_connection(fake_server, fake):
    client = Client(fake_server.url, "t", "team", backoff=QUICK)
    client.json("GET", client.ws_path("/runs/r0"))
    pid = os.fork()
    if pid == 0:  # the child: a request of its own, then out without pytest's teardown
        try:
            client.json("GET", client.ws_path("/runs/r1"))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    client.json("GET", client.ws_path("/runs/r2"))
    peers = {r.path.rsplit("/", 1)[1]: r.peer for r in fake.requests}
    # The parent's connection carried its two requests; the child's went on another.
    assert peers["r0"] == peers["r2"]
    assert peers["r1"] != peers["r0"]
