"""DomainFilter: block lists cover subdomains, allow lists admit only their domains, hosts normalise."""

import pytest

from browser_env.text.domains import ELI5_BLOCKLIST, DomainFilter, host_of
from browser_env.types import SearchResult


@pytest.mark.parametrize(
    "url",
    [
        "https://reddit.com/r/explainlikeimfive",
        "https://old.reddit.com/r/explainlikeimfive",
        "http://WWW.Reddit.COM./r/x",
        "https://user:pw@np.reddit.com:443/r/x",
        "https://www.quora.com/Why-is-the-sky-blue",
        "//reddit.com/r/x",
        "reddit.com/r/x",
    ],
)
def test_eli5_blocks_reddit_and_quora_with_subdomains(url):
    assert not DomainFilter.eli5().allows(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Rainbow",
        "https://notreddit.com/",  # a suffix match on the string, not on a label, must not block
        "https://reddit.com.evil.example/",
        "https://example.com/?next=https://reddit.com",
        "https://redditcom.example/",
    ],
)
def test_eli5_allows_other_sites(url):
    assert DomainFilter.eli5().allows(url)


def test_eli5_constant_and_extra_blocks():
    assert ELI5_BLOCKLIST == ("reddit.com", "quora.com")
    f = DomainFilter.eli5(extra_block=["stackexchange.com"])
    assert not f.allows("https://physics.stackexchange.com/q/1")
    assert not f.allows("https://reddit.com/")


def test_allow_list_admits_only_listed_domains():
    f = DomainFilter(allow=["wikipedia.org", "*.nasa.gov"])
    assert f.allows("https://en.wikipedia.org/wiki/Sky")
    assert f.allows("https://wikipedia.org/")
    assert f.allows("https://spaceplace.nasa.gov/blue-sky/")
    assert not f.allows("https://example.com/")
    assert "not on the allow list" in f.reason("https://example.com/")


def test_block_wins_over_allow():
    f = DomainFilter(block=["old.reddit.com"], allow=["reddit.com"])
    assert f.allows("https://www.reddit.com/r/x")
    assert not f.allows("https://old.reddit.com/r/x")
    assert f.reason("https://old.reddit.com/r/x") == "the domain old.reddit.com is blocked"


def test_empty_allow_list_admits_nothing():
    assert not DomainFilter(allow=[]).allows("https://example.com/")


@pytest.mark.parametrize(
    "url",
    ["mailto:someone@example.com", "javascript:alert(1)", "ftp://example.com/file", "file:///etc/passwd", "", "http://", "http://[::1"],
)
def test_non_http_or_broken_urls_are_never_admitted(url):
    f = DomainFilter()
    assert not f.allows(url)
    assert "not an http(s) URL" in f.reason(url)


def test_ports_and_ips():
    f = DomainFilter(block=["example.com:8080", "10.0.0.1"])
    assert not f.allows("example.com:8080/path")  # a port is not mistaken for a scheme
    assert not f.allows("http://example.com:9999/")  # the port does not matter
    assert not f.allows("http://10.0.0.1/x")
    assert f.allows("http://[::1]:8000/")
    assert host_of("localhost:8000/x") == "localhost"


def test_idn_hosts_compare_as_punycode():
    f = DomainFilter(block=["bücher.example"])
    assert not f.allows("https://xn--bcher-kva.example/")
    assert not f.allows("https://shop.BÜCHER.example/")
    g = DomainFilter(block=["xn--bcher-kva.example"])
    assert not g.allows("https://bücher.example/")
    assert host_of("https://Bücher.example./") == "xn--bcher-kva.example"


def test_list_entries_written_as_urls_or_wildcards():
    f = DomainFilter(block=["https://www.quora.com/", ".reddit.com", "*.pinterest.com"])
    assert f.block == frozenset({"www.quora.com", "reddit.com", "pinterest.com"})


def test_bad_entries_raise():
    with pytest.raises(ValueError, match="not a domain"):
        DomainFilter(block=["mailto:x"])
    with pytest.raises(TypeError):
        DomainFilter(block="reddit.com")


def test_filter_results_keeps_order():
    results = [
        SearchResult("a", "https://en.wikipedia.org/wiki/Sky"),
        SearchResult("b", "https://www.reddit.com/r/eli5"),
        SearchResult("c", "https://spaceplace.nasa.gov/"),
        SearchResult("d", "https://www.quora.com/q"),
    ]
    assert [r.title for r in DomainFilter.eli5().filter_results(results)] == ["a", "c"]
