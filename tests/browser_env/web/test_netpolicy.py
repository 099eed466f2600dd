"""EgressPolicy: schemes, localhost names, forbidden address ranges, odd IP spellings, DNS answers.

DNS is a dict-backed fake resolver, so nothing here touches the network.
"""

import asyncio
import ipaddress

import pytest

from browser_env.web.netpolicy import EgressPolicy, forbidden_reason, parse_legacy_ipv4
from browser_env.types import FetchError, PolicyError
from tests.helpers.web import FakeDNS


DNS = {
    "example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example": ["93.184.215.14", "127.0.0.1"],  # one good and one loopback answer
    "intranet.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "v6loop.example": ["::1"],
    "mapped.example": ["::ffff:192.168.0.1"],
    "search.internal": ["10.9.9.9"],
}


@pytest.fixture
def policy() -> EgressPolicy:
    return EgressPolicy(resolver=FakeDNS(DNS))


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "data:text/html,<b>x</b>", "ftp://example.com/x", "chrome://settings",
     "javascript:alert(1)", "about:blank", "ws://example.com/", "example.com/no-scheme", "blob:http://example.com/1"],
)
def test_non_web_schemes_are_refused(policy, url):
    with pytest.raises(PolicyError, match="not allowed|no host"):
        policy.check_url(url)


@pytest.mark.parametrize("url", ["http://localhost/", "http://LOCALHOST:8080/x", "http://api.localhost/", "http://localhost./"])
def test_localhost_names_are_refused_without_asking_dns(url):
    dns = FakeDNS({})
    with pytest.raises(PolicyError, match="this machine|loopback"):
        EgressPolicy(resolver=dns).check_url(url)
    assert dns.lookups == []


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:81/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://172.31.255.255/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://100.64.0.1/", "carrier-grade"),
        ("http://100.127.255.254/", "carrier-grade"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "private|reserved"),
        ("http://0.0.0.0/", "unspecified|private"),
        ("http://[::]/", "unspecified"),
        ("http://[::1]/", "loopback"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[::ffff:127.0.0.1]/", "loopback.*embedded"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[2002:7f00:1::]/", "loopback.*embedded"),  # 6to4 around 127.0.0.1
        ("http://[2002:c0a8:101::1]/", "private.*embedded"),  # 6to4 around 192.168.1.1
        ("http://[64:ff9b::7f00:1]/", "loopback.*embedded"),  # NAT64 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "private.*embedded"),  # NAT64 around 10.0.0.1
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "loopback.*embedded"),  # Teredo, client 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(policy, url, reason):
    with pytest.raises(PolicyError, match=reason):
        policy.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0177.0.0.1/", "http://0x7f000001/",
     "http://127.0.0.1./", "http://127.0.1/", "http://0/", "http://0x0a.0.0.1/", "http://012.1/",
     "http://017700000001/", "http://[0:0:0:0:0:0:0:1]/", "http://[0000::1]/"],
)
def test_odd_spellings_of_internal_addresses_are_refused(policy, url):
    with pytest.raises(PolicyError):
        policy.check_url(url)


@pytest.mark.parametrize("url", ["http://1.2.3.4.5/", "http://256.256.256.256/", "http://0x1g.1/", "http://08.0.0.1/", "http://4294967296/"])
def test_malformed_numeric_hosts_are_refused_not_resolved(url):
    dns = FakeDNS({})
    with pytest.raises(PolicyError):
        EgressPolicy(resolver=dns).check_url(url)
    assert dns.lookups == []


def test_legacy_ipv4_parser_agrees_with_browsers():
    assert parse_legacy_ipv4("2130706433") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_legacy_ipv4("0x7f.1") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_legacy_ipv4("127.1") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_legacy_ipv4("0177.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_legacy_ipv4("192.168.257") == ipaddress.IPv4Address("192.168.1.1")
    assert parse_legacy_ipv4("example.com") is None
    assert parse_legacy_ipv4("1.2.3.example") is None


def test_public_ip_literals_pass_and_are_returned(policy):
    vetted = policy.check_url("https://93.184.215.14:8443/path?q=1")
    assert vetted.addresses == ("93.184.215.14",) and vetted.port == 8443 and vetted.is_ip_literal
    assert policy.check_url("http://[2606:4700::1]/").addresses == ("2606:4700::1",)


def test_dns_names_are_resolved_and_every_address_checked(policy):
    vetted = policy.check_url("https://Example.COM./a")
    assert vetted.host == "example.com" and vetted.port == 443
    assert set(vetted.addresses) == set(DNS["example.com"])
    for host, reason in [("rebind.example", "127.0.0.1"), ("intranet.example", "private"),
                         ("metadata.example", "169.254.169.254"), ("v6loop.example", "loopback"),
                         ("mapped.example", "private")]:
        with pytest.raises(PolicyError, match=reason):
            policy.check_url(f"http://{host}/")


def test_unresolvable_name_is_a_fetch_error_not_a_policy_error(policy):
    with pytest.raises(FetchError) as info:
        policy.check_url("http://no-such-host.example/")
    assert not isinstance(info.value, PolicyError)


def test_allowed_hosts_admit_exact_host_and_port_only():
    policy = EgressPolicy(allowed_hosts=["127.0.0.1:43210", "search.internal", "[::1]:9000"], resolver=FakeDNS(DNS))
    assert policy.check_url("http://127.0.0.1:43210/page/1").addresses == ("127.0.0.1",)
    assert policy.check_url("http://127.1:43210/").addresses == ("127.0.0.1",)  # same machine and port
    with pytest.raises(PolicyError):
        policy.check_url("http://127.0.0.1:43211/")
    with pytest.raises(PolicyError):
        policy.check_url("http://127.0.0.2:43210/")
    assert policy.check_url("http://search.internal:8888/search").addresses == ("10.9.9.9",)
    assert policy.check_url("http://[::1]:9000/").addresses == ("::1",)
    with pytest.raises(PolicyError):
        policy.check_url("http://[::1]:9001/")
    with pytest.raises(PolicyError):
        policy.check_url("http://10.9.9.9/")  # the host is allowed by name, not its private address


def test_allow_loopback_admits_loopback_but_nothing_else_private():
    policy = EgressPolicy(allow_loopback=True, resolver=FakeDNS(DNS))
    assert policy.check_url("http://127.0.0.1:5/").addresses == ("127.0.0.1",)
    assert policy.check_url("http://[::ffff:127.0.0.1]/").is_ip_literal
    assert policy.check_url("http://localhost:8000/").host == "localhost"
    for url in ["http://10.0.0.1/", "http://169.254.169.254/", "http://[fe80::1]/"]:
        with pytest.raises(PolicyError):
            policy.check_url(url)


def test_async_check_resolves_in_a_thread_and_caches():
    dns = FakeDNS(DNS)
    policy = EgressPolicy(resolver=dns)

    async def go():
        first = await policy.check_url_async("http://example.com/1")
        second = await policy.check_url_async("http://example.com/2")
        with pytest.raises(PolicyError):
            await policy.check_url_async("http://intranet.example/")
        with pytest.raises(PolicyError):
            await policy.check_url_async("file:///etc/passwd")
        return first, second

    first, second = asyncio.run(go())
    assert first.addresses == second.addresses
    assert dns.lookups == ["example.com", "intranet.example"]


def test_forbidden_reason_public_addresses_are_fine():
    for text in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::1"]:
        assert forbidden_reason(ipaddress.ip_address(text)) is None
