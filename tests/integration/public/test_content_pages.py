"""Public content pages (SPEC §7, §8): how it works, pricing, legal pages and the blog, in the
site's frame; unknown or unsafe slugs are the site's 404 page; /api keeps its JSON envelope."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from core.content import list_documents
from core.payments.plans import BASIC, PREMIUM

CONTENT = Path(__file__).resolve().parents[3] / "content"
POSTS = list_documents(CONTENT, "blog")
LEGAL = {"gdpr": "Your GDPR rights", "privacy": "Privacy notice", "terms": "Terms of service",
         "hipaa": "HIPAA and Doktu"}


class Outline(HTMLParser):
    """The bits of a page the tests read: <title>, headings in order, landmarks, asset URLs."""

    def __init__(self, html: str):
        super().__init__()
        self.title = ""
        self.headings: list[tuple[int, str]] = []
        self.landmarks: list[str] = []
        self.asset_urls: list[str] = []
        self.times: list[str] = []
        self.post_links: list[str] = []
        self._capture: str | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title" or re.fullmatch(r"h[1-6]", tag):
            self._capture, self._text = tag, []
        if tag in {"header", "nav", "main", "footer"}:
            self.landmarks.append(tag)
        if tag in {"script", "img", "iframe", "video", "audio", "source"} and attrs.get("src"):
            self.asset_urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.asset_urls.append(attrs["href"])
        if tag == "time":
            self.times.append(attrs.get("datetime", ""))
        if tag == "a" and self._capture == "h2" and (attrs.get("href") or "").startswith("/blog/"):
            self.post_links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == self._capture:
            text = " ".join("".join(self._text).split())
            if tag == "title":
                self.title = text
            else:
                self.headings.append((int(tag[1]), text))
            self._capture = None

    def handle_data(self, data):
        if self._capture:
            self._text.append(data)

    @property
    def h1(self) -> list[str]:
        return [text for level, text in self.headings if level == 1]


def outline(response) -> Outline:
    return Outline(response.get_data(as_text=True))


def assert_in_the_site_frame(page: Outline) -> None:
    assert {"header", "main", "footer"} <= set(page.landmarks)
    assert page.landmarks.count("main") == 1


def assert_headings_in_order(page: Outline) -> None:
    assert len(page.h1) == 1, page.headings
    previous = 0
    for level, text in page.headings:
        assert level <= previous + 1, f"heading {text!r} (h{level}) skips a level after h{previous}"
        previous = level


PAGES = [
    ("/how-it-works", "How it works — Doktu", "How Doktu works"),
    ("/pricing", "Pricing — Doktu", "Pricing"),
    *[(f"/legal/{slug}", f"{title} — Doktu", title) for slug, title in LEGAL.items()],
    ("/blog", "Blog — Doktu", "The Doktu blog"),
    *[(f"/blog/{post.slug}", f"{post.title} — Doktu blog", post.title) for post in POSTS],
]


@pytest.mark.parametrize(("path", "title", "h1"), PAGES, ids=[p for p, _, _ in PAGES])
def test_every_content_page_answers_in_the_frame_with_its_title_and_heading(client, path, title, h1):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = outline(response)
    assert page.title == title
    assert page.h1 == [h1]
    assert_in_the_site_frame(page)
    assert_headings_in_order(page)


@pytest.mark.parametrize("path", [p for p, _, _ in PAGES])
def test_content_pages_load_nothing_from_another_origin(client, path):
    """SPEC §0: every asset from our own origin (links to other sites are fine; loads are not)."""
    page = outline(client.get(path))
    assert page.asset_urls
    for url in page.asset_urls:
        assert (url.startswith("/") and not url.startswith("//")) or url.startswith("data:"), url


def test_pricing_states_the_three_prices_and_the_credit_allowances(client):
    html = client.get("/pricing").get_data(as_text=True)
    for price in ("€35", "€29", "€59"):
        assert price in html
    assert f"{BASIC.credits_per_month} consultation credit</strong> every month" in html
    assert f"{PREMIUM.credits_per_month} consultation credits</strong> every month" in html
    assert "Priority support" in html
    assert "unused credits do not roll over" in html


def test_pricing_summarises_the_reschedule_and_cancellation_rules(client):
    html = client.get("/pricing").get_data(as_text=True)
    assert "up to 60 minutes before it starts, at most twice per appointment" in html
    assert "A full refund, or a credit if you prefer" in html
    assert "No refund" in html
    assert "A full refund, plus a €10 credit" in html


def test_how_it_works_walks_through_four_steps_and_the_device_test(client):
    page = outline(client.get("/how-it-works"))
    steps = [text for level, text in page.headings if level == 3]
    assert steps == ["Choose a doctor", "Pick a time", "Sign up and pay", "Join the video room"]
    assert {"What you need", "The video self-test"} <= {text for level, text in page.headings if level == 2}


def test_the_blog_lists_every_post_newest_first_with_date_and_summary(client):
    response = client.get("/blog")
    html = response.get_data(as_text=True)
    page = outline(response)
    assert len(POSTS) >= 3
    assert page.times == sorted(page.times, reverse=True) and len(page.times) == len(POSTS)
    assert page.post_links == [f"/blog/{p.slug}" for p in sorted(POSTS, key=lambda p: p.date, reverse=True)]
    for post in POSTS:
        assert post.summary in html
        assert f'<time datetime="{post.date.isoformat()}">' in html


@pytest.mark.parametrize("post", POSTS, ids=[p.slug for p in POSTS])
def test_each_post_renders_its_markdown(client, post):
    html = client.get(f"/blog/{post.slug}").get_data(as_text=True)
    source = (CONTENT / "blog" / f"{post.slug}.md").read_text()
    first_section = re.search(r"^## (.+)$", source, re.M).group(1)
    assert f">{first_section}</h2>" in html
    assert "<li>" in html and "<strong>" in html
    assert "\n## " not in html and "**" not in html  # no Markdown left unrendered
    assert f'<time datetime="{post.date.isoformat()}">' in html


def test_legal_pages_link_to_each_other_and_mark_the_current_one(client):
    html = client.get("/legal/terms").get_data(as_text=True)
    for slug in LEGAL:
        assert f'href="/legal/{slug}"' in html
    assert '<a href="/legal/terms" aria-current="page">' in html


def test_the_hipaa_page_says_doktu_is_eu_and_gdpr_based(client):
    html = client.get("/legal/hipaa").get_data(as_text=True)
    assert "HIPAA does not apply to us" in html
    assert "General Data Protection Regulation" in html
    assert "<table>" in html


def assert_not_found_page(response) -> None:
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = outline(response)
    assert page.title == "Page not found — Doktu"
    assert page.h1 == ["Page not found"]
    assert_in_the_site_frame(page)


@pytest.mark.parametrize("path", ["/blog/no-such-post", "/legal/no-such-page", "/legal/blog", "/no-such-page"])
def test_an_unknown_page_is_the_site_s_404_page(client, path):
    assert_not_found_page(client.get(path))


@pytest.mark.parametrize("path", [
    "/blog/..%2f..%2fetc%2fpasswd",
    "/blog/..%2F..%2F..%2Fpyproject",
    "/blog/%2e%2e",
    "/legal/..%2fblog%2fpreparing-for-your-video-consultation",
    "/legal/Terms",
    "/legal/terms.md",
    "/blog/preparing_for_your_video_consultation",
    "/blog/%00",
])
def test_unsafe_or_malformed_slugs_are_the_404_page(client, path):
    response = client.get(path)
    assert_not_found_page(response)
    assert "root:" not in response.get_data(as_text=True)


def test_an_unknown_api_path_keeps_the_json_envelope(client):
    response = client.get("/api/nonexistent")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "ERR_NOT_FOUND"
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_an_unexpected_error_on_a_page_is_the_site_s_500_page(client, monkeypatch):
    import portals.public.content as pages

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pages, "list_documents", broken)
    response = client.get("/blog")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    page = outline(response)
    assert page.title == "Something went wrong — Doktu"
    assert page.h1 == ["Something went wrong"]
    assert_in_the_site_frame(page)
    html = response.get_data(as_text=True)
    assert "disk on fire" not in html  # no internals shown to visitors
    assert response.headers["X-Request-ID"] in html  # the reference to quote to support
