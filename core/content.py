"""Site content kept as Markdown files: the legal pages and the blog (SPEC §7 "`/legal/*`, `/blog/*`
from Markdown files").

A document is a file `<root>/<section>/<slug>.md` that opens with a front matter block:

    ---
    title: Preparing for your video consultation
    date: 2026-10-02
    summary: Ten minutes of preparation make a consultation better.
    ---
    ## First section
    ...

This module is pure: it reads files and returns plain values, and knows nothing of Flask. Content
is written by us, yet rendered as if it were not: raw HTML is escaped, links may only use web,
mail and phone schemes, and images must come from our own origin (SPEC §0: no third-party
requests). The page template owns the <h1> (the title), so the body starts at level 2 and never
skips a level (WCAG 1.3.1, headings in order). A file that breaks a rule raises ContentError,
naming the file and the fix; the test suite loads every file, so a bad one never ships.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension
from markdown.extensions.toc import slugify as toc_slugify
from markdown.treeprocessors import Treeprocessor

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIELD_LINE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(?P<value>.*)")
REQUIRED_FIELDS = ("title", "date", "summary")
OPTIONAL_FIELDS = ("author",)
FENCE = "---"
LINK_SCHEMES = {"", "http", "https", "mailto", "tel"}
# Ids the page frame uses itself: a heading must not take them (the skip link targets #main).
RESERVED_IDS = {"main"}
WORDS_PER_MINUTE = 200


class ContentError(ValueError):
    """A content file breaks a rule. The message says which file and what to fix."""


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    title: str


@dataclass(frozen=True)
class Document:
    slug: str
    title: str
    date: date
    summary: str
    html: str
    headings: tuple[Heading, ...]  # level-2 headings, for an "On this page" list
    words: int
    author: str | None = None
    language: str = "en"  # the language the text is written in (SPEC §20)

    @property
    def reading_minutes(self) -> int:
        return max(1, round(self.words / WORDS_PER_MINUTE))


def is_valid_slug(slug: str) -> bool:
    """Lower-case letters, digits and single hyphens: nothing that can walk out of a folder."""
    return bool(SLUG.fullmatch(slug))


def parse_front_matter(text: str, source: str = "<string>") -> tuple[dict[str, str], str]:
    """Split `text` into its front matter fields and its Markdown body.

    The block is `key: value` lines between two `---` lines at the very top; values may be quoted;
    blank lines and `#` comments are ignored. Every required field must be present and non-empty.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or lines[0].strip() != FENCE:
        raise ContentError(f"{source}: no front matter; start the file with a '---' line, then "
                           f"{', '.join(REQUIRED_FIELDS)}, then another '---' line")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == FENCE)
    except StopIteration:
        raise ContentError(f"{source}: the front matter is not closed by a '---' line") from None
    fields: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = FIELD_LINE.fullmatch(line.strip())
        if match is None:
            raise ContentError(f"{source}, line {number}: expected 'key: value', got {line.strip()!r}")
        key, value = match["key"].lower(), _unquote(match["value"].strip())
        if key not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            known = ", ".join(REQUIRED_FIELDS + OPTIONAL_FIELDS)
            raise ContentError(f"{source}, line {number}: unknown field {key!r} (known fields: {known})")
        if key in fields:
            raise ContentError(f"{source}, line {number}: {key!r} is given twice")
        fields[key] = value
    missing = [key for key in REQUIRED_FIELDS if not fields.get(key)]
    if missing:
        raise ContentError(f"{source}: the front matter needs {', '.join(missing)}")
    return fields, "\n".join(lines[end + 1:])


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip()
    return value


def parse_date(value: str, source: str = "<string>") -> date:
    if not ISO_DATE.fullmatch(value):
        raise ContentError(f"{source}: date {value!r} is not in the YYYY-MM-DD form")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ContentError(f"{source}: date {value!r} is not a real date ({exc})") from None


def parse_document(text: str, slug: str, source: str = "<string>") -> Document:
    """Front matter and Markdown body of one file → a Document with its body rendered to HTML."""
    if not is_valid_slug(slug):
        raise ContentError(f"{source}: {slug!r} is not a valid slug (use a-z, 0-9 and single hyphens)")
    fields, body = parse_front_matter(text, source)
    html, headings = render_markdown(body, source)
    return Document(
        slug=slug, title=fields["title"], date=parse_date(fields["date"], source), summary=fields["summary"],
        html=html, headings=headings, words=len(re.findall(r"\w+", body)), author=fields.get("author"),
    )


def render_markdown(body: str, source: str = "<string>") -> tuple[str, tuple[Heading, ...]]:
    """Markdown → HTML with raw HTML escaped, and the level-2 headings (id, title) found in it."""
    md = markdown.Markdown(
        extensions=[_SafeContent(source), "tables", "sane_lists", "fenced_code",
                    TocExtension(slugify=_heading_id, toc_depth="2-6")],
        output_format="html",
    )
    html = md.convert(body)
    headings = tuple(Heading(2, token["id"], token["name"]) for token in md.toc_tokens if token["level"] == 2)
    return html, headings


def _heading_id(value: str, separator: str) -> str:
    slug = toc_slugify(value, separator)
    return f"section-{slug}" if slug in RESERVED_IDS or not slug else slug


class _SafeContent(Extension):
    """No raw HTML (it is escaped as text), checked links, images and heading levels."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_ContentRules(md, self.source), "doktu_content_rules", 3)


class _ContentRules(Treeprocessor):
    def __init__(self, md: markdown.Markdown, source: str):
        super().__init__(md)
        self.source = source

    def run(self, root: ET.Element) -> None:
        level = 1  # the page's own <h1> is the title
        for element in root.iter():
            tag = element.tag
            if isinstance(tag, str) and re.fullmatch(r"h[1-6]", tag):
                new = int(tag[1])
                if new == 1:
                    raise ContentError(f"{self.source}: '# ' headings are reserved for the title; start at '## '")
                if new > level + 1:
                    raise ContentError(f"{self.source}: heading {_text(element)!r} jumps from h{level} to h{new}; "
                                       "do not skip levels")
                level = new
            elif tag == "a":
                self._check_link(element)
            elif tag == "img":
                self._check_image(element)

    def _check_link(self, element: ET.Element) -> None:
        href = element.get("href", "")
        parts = urlsplit(href)
        if parts.scheme.lower() not in LINK_SCHEMES:
            raise ContentError(f"{self.source}: link {href!r} uses a scheme we do not allow")
        if parts.scheme.lower() in {"http", "https"}:
            # Leaving our site: the other site learns nothing of the (health-related) page the reader was on.
            element.set("rel", "noopener noreferrer")
        images = " ".join(img.get("alt", "") for img in element.iter("img"))
        if not (_text(element) + images).strip():
            raise ContentError(f"{self.source}: link {href!r} has no text")

    def _check_image(self, element: ET.Element) -> None:
        src = element.get("src", "")
        parts = urlsplit(src)
        if parts.scheme or parts.netloc or src.startswith("//"):
            raise ContentError(f"{self.source}: image {src!r} is not on our origin; put it under /static/")
        if not element.get("alt", "").strip():
            raise ContentError(f"{self.source}: image {src!r} needs alt text")


def _text(element: ET.Element) -> str:
    return "".join(element.itertext())


# ---- files ----------------------------------------------------------------------------------


SOURCE_LANGUAGE = "en"
TRANSLATION = re.compile(r"(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<language>[a-z]{2})")


def load_document(root: Path, section: str, slug: str, language: str = SOURCE_LANGUAGE) -> Document | None:
    """The document `<root>/<section>/<slug>.md` in `language` (SPEC §20): its translation
    `<slug>.<language>.md` when there is one, else the English original (its `language` says so, and
    the page shows a notice). None when the slug is invalid or no such file exists."""
    if not (is_valid_slug(section) and is_valid_slug(slug)):
        return None
    folder = (root / section).resolve()
    names = [f"{slug}.{language}.md"] if language != SOURCE_LANGUAGE and is_valid_slug(language) else []
    for name, written_in in [*((n, language) for n in names), (f"{slug}.md", SOURCE_LANGUAGE)]:
        path = (folder / name).resolve()
        if path.parent != folder:  # belt and braces: the slug check already rules out any walk
            return None
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        return _parse_file(str(path), slug, stat.st_mtime_ns, stat.st_size, written_in)
    return None


def list_documents(root: Path, section: str, language: str = SOURCE_LANGUAGE) -> list[Document]:
    """Every document of a section, newest first (same date: by slug), each in `language` when it
    has that translation, else in English."""
    if not is_valid_slug(section):
        raise ContentError(f"{section!r} is not a valid section name")
    folder = (root / section).resolve()
    if not folder.is_dir():
        return []
    documents = []
    for path in folder.glob("*.md"):
        if TRANSLATION.fullmatch(path.stem):
            if not (folder / f"{TRANSLATION.fullmatch(path.stem)['slug']}.md").is_file():
                raise ContentError(f"{path}: a translation needs its English original beside it")
            continue
        if not is_valid_slug(path.stem):
            raise ContentError(f"{path}: rename the file; {path.stem!r} is not a valid slug "
                               "(use a-z, 0-9 and single hyphens)")
        document = load_document(root, section, path.stem, language)
        if document is not None:
            documents.append(document)
    documents.sort(key=lambda d: d.slug)
    documents.sort(key=lambda d: d.date, reverse=True)
    return documents


@lru_cache(maxsize=256)
def _parse_file(path: str, slug: str, _mtime_ns: int, _size: int, language: str = SOURCE_LANGUAGE) -> Document:
    """Parsed once per version of a file: an edit changes the mtime (or size), hence the key."""
    document = parse_document(Path(path).read_text(encoding="utf-8"), slug, source=path)
    return replace(document, language=language) if language != document.language else document
