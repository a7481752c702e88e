"""The Markdown content loader (core.content): front matter, safe rendering, slugs, files and cache."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from core.config import default_content_dir
from core.content import (
    ContentError,
    is_valid_slug,
    list_documents,
    load_document,
    parse_document,
    parse_front_matter,
    render_markdown,
)

REPO_CONTENT = Path(__file__).resolve().parents[2] / "content"


def doc(body: str = "Hello.", **fields: str) -> str:
    values = {"title": "A title", "date": "2026-10-02", "summary": "A summary.", **fields}
    front = "\n".join(f"{k}: {v}" for k, v in values.items() if v is not None)
    return f"---\n{front}\n---\n{body}\n"


# ---- front matter ---------------------------------------------------------------------------


def test_front_matter_gives_its_fields_and_the_body():
    fields, body = parse_front_matter(doc("## Section\n\nText."))
    assert fields == {"title": "A title", "date": "2026-10-02", "summary": "A summary."}
    assert body.strip() == "## Section\n\nText."


def test_quoted_values_lose_their_quotes_and_keep_colons():
    fields, _ = parse_front_matter(doc(title='"Tele-consultation or 112: how to choose"', summary="'Short.'"))
    assert fields["title"] == "Tele-consultation or 112: how to choose"
    assert fields["summary"] == "Short."


def test_windows_line_endings_a_bom_blank_lines_and_comments_are_tolerated():
    text = "\ufeff---\r\n# a comment\r\ntitle: T\r\n\r\ndate: 2026-01-31\r\nsummary: S\r\n---\r\nBody\r\n"
    fields, body = parse_front_matter(text)
    assert fields == {"title": "T", "date": "2026-01-31", "summary": "S"}
    assert body.strip() == "Body"


def test_a_file_without_front_matter_is_refused_with_a_clear_message():
    with pytest.raises(ContentError, match=r"post\.md: no front matter; start the file with a '---' line"):
        parse_front_matter("# Just Markdown\n", source="post.md")


def test_front_matter_that_is_never_closed_is_refused():
    with pytest.raises(ContentError, match="not closed"):
        parse_front_matter("---\ntitle: T\ndate: 2026-01-01\nsummary: S\n## Body\n")


@pytest.mark.parametrize("missing", ["title", "date", "summary"])
def test_each_required_field_must_be_present(missing):
    with pytest.raises(ContentError, match=f"needs {missing}"):
        parse_front_matter(doc(**{missing: None}))


def test_an_empty_required_field_counts_as_missing():
    with pytest.raises(ContentError, match="needs summary"):
        parse_front_matter(doc(summary='""'))


def test_unknown_and_repeated_fields_are_refused():
    with pytest.raises(ContentError, match="unknown field 'sumary'"):
        parse_front_matter(doc(sumary="typo"))
    with pytest.raises(ContentError, match="'title' is given twice"):
        parse_front_matter("---\ntitle: A\ntitle: B\ndate: 2026-01-01\nsummary: S\n---\n")


def test_a_line_that_is_not_key_value_names_its_line_number():
    with pytest.raises(ContentError, match=r"x\.md, line 3: expected 'key: value'"):
        parse_front_matter("---\ntitle: T\njust words\n---\n", source="x.md")


@pytest.mark.parametrize("bad", ["2026/10/02", "02-10-2026", "tomorrow", "2026-1-2", "2026-10-02T10:00"])
def test_a_date_not_in_iso_form_is_a_clear_error(bad):
    with pytest.raises(ContentError, match=rf"post\.md: date '{bad}' is not in the YYYY-MM-DD form"):
        parse_document(doc(date=bad), "post", source="post.md")


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "2026-00-10"])
def test_an_impossible_date_is_a_clear_error(bad):
    with pytest.raises(ContentError, match=rf"date '{bad}' is not a real date"):
        parse_document(doc(date=bad), "post")


def test_a_document_carries_its_fields_rendered_body_and_reading_time():
    document = parse_document(doc("## First\n\n" + "word " * 450, author="The care team"), "my-post")
    assert (document.slug, document.title, document.date) == ("my-post", "A title", date(2026, 10, 2))
    assert document.summary == "A summary." and document.author == "The care team"
    assert document.html.startswith('<h2 id="first">First</h2>')
    assert document.reading_minutes == 2
    assert [(h.level, h.id, h.title) for h in document.headings] == [(2, "first", "First")]


# ---- Markdown, safely -----------------------------------------------------------------------


def test_markdown_renders_lists_tables_emphasis_and_links():
    html, _ = render_markdown("Some **bold** and [a link](/pricing).\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<strong>bold</strong>" in html
    assert '<a href="/pricing">a link</a>' in html
    assert "<li>one</li>" in html
    assert "<th>a</th>" in html and "<td>2</td>" in html


def test_raw_html_is_escaped_never_rendered():
    html, _ = render_markdown('<script>alert(1)</script>\n\nText with <img src=x onerror="alert(1)"> inline.\n\n'
                              '<div onclick="steal()">block</div>\n')
    assert "<script" not in html and "<img" not in html and "<div" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;div onclick=" in html


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "vbscript:x"])
def test_links_with_a_dangerous_scheme_are_refused(href):
    with pytest.raises(ContentError, match="scheme we do not allow"):
        render_markdown(f"[click]({href})")


def test_links_to_other_sites_leak_no_referrer():
    html, _ = render_markdown("[CNIL](https://www.cnil.fr) and [mail](mailto:dpo@doktu.eu) and [call](tel:112)")
    assert '<a href="https://www.cnil.fr" rel="noopener noreferrer">CNIL</a>' in html
    assert '<a href="mailto:dpo@doktu.eu">mail</a>' in html


def test_images_must_come_from_our_origin_and_have_alt_text():
    html, _ = render_markdown("![A doctor on a video call](/static/img/call.png)")
    assert '<img alt="A doctor on a video call" src="/static/img/call.png">' in html
    for src in ("https://cdn.example.com/a.png", "//cdn.example.com/a.png", "http://example.com/a.png"):
        with pytest.raises(ContentError, match="not on our origin"):
            render_markdown(f"![alt]({src})")
    with pytest.raises(ContentError, match="needs alt text"):
        render_markdown("![](/static/img/call.png)")


def test_the_body_may_not_have_its_own_h1_nor_skip_heading_levels():
    with pytest.raises(ContentError, match="reserved for the title"):
        render_markdown("# Another title\n")
    with pytest.raises(ContentError, match="jumps from h2 to h4"):
        render_markdown("## Section\n\n#### Too deep\n")
    with pytest.raises(ContentError, match="jumps from h1 to h3"):
        render_markdown("### Starts too deep\n")
    render_markdown("## A\n\n### B\n\n#### C\n\n## D\n")  # going back up is fine


def test_heading_ids_never_take_the_frame_s_own_ids():
    html, headings = render_markdown("## Main\n\n## Main\n")
    assert 'id="main"' not in html
    assert [h.id for h in headings] == ["section-main", "section-main_1"]


# ---- slugs and files ------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["gdpr", "how-doktu-protects-your-health-data", "post-2", "a1"])
def test_valid_slugs(slug):
    assert is_valid_slug(slug)


@pytest.mark.parametrize("slug", ["", "..", "../etc/passwd", "..%2f..%2fetc%2fpasswd", "Post", "a_b", "a--b", "-a",
                                  "a-", "a/b", "a.md", "a\x00", "é", " a"])
def test_invalid_slugs(slug):
    assert not is_valid_slug(slug)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "older.md").write_text(doc("Old.", title="Older", date="2026-01-05"))
    (tmp_path / "blog" / "newer.md").write_text(doc("New.", title="Newer", date="2026-03-01"))
    (tmp_path / "blog" / "b-same-day.md").write_text(doc("B.", title="B", date="2026-02-01"))
    (tmp_path / "blog" / "a-same-day.md").write_text(doc("A.", title="A", date="2026-02-01"))
    (tmp_path / "secret.md").write_text(doc("Outside the section."))
    return tmp_path


def test_a_section_lists_newest_first_then_by_slug(site):
    assert [d.slug for d in list_documents(site, "blog")] == ["newer", "a-same-day", "b-same-day", "older"]


def test_a_missing_section_is_empty_and_a_bad_section_name_is_refused(site):
    assert list_documents(site, "news") == []
    with pytest.raises(ContentError):
        list_documents(site, "../blog")


def test_a_file_whose_name_is_not_a_slug_is_an_authoring_error(site):
    (site / "blog" / "My Post.md").write_text(doc())
    with pytest.raises(ContentError, match="rename the file"):
        list_documents(site, "blog")


@pytest.mark.parametrize("slug", ["../secret", "..", "missing", "Older", "older.md"])
def test_loading_an_unknown_or_unsafe_slug_gives_none(site, slug):
    assert load_document(site, "blog", slug) is None


def test_loading_never_leaves_the_section_even_through_the_section_name(site):
    assert load_document(site, "..", "secret") is None
    assert load_document(site, "blog/..", "secret") is None


def test_an_edited_file_is_parsed_again(site):
    path = site / "blog" / "older.md"
    assert load_document(site, "blog", "older").title == "Older"
    path.write_text(doc("Edited.", title="Older, edited", date="2026-01-05"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_document(site, "blog", "older").title == "Older, edited"


def test_an_unchanged_file_is_parsed_once(site):
    assert load_document(site, "blog", "newer") is load_document(site, "blog", "newer")


# ---- the content we ship --------------------------------------------------------------------


@pytest.mark.parametrize("section", ["legal", "blog"])
def test_every_shipped_document_parses(section):
    documents = list_documents(REPO_CONTENT, section)
    assert documents, f"content/{section} is empty"
    for document in documents:
        assert document.summary and document.html and document.headings


def test_the_shipped_content_has_the_pages_the_site_links_to():
    assert {d.slug for d in list_documents(REPO_CONTENT, "legal")} >= {"gdpr", "privacy", "terms", "hipaa"}
    assert len(list_documents(REPO_CONTENT, "blog")) >= 3


def test_the_default_content_folder_is_the_repository_s():
    assert default_content_dir() == REPO_CONTENT
