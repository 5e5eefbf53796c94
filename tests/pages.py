"""Reading a response as a person reads the page: its text, one element, the messages shown."""

import re
from html import unescape
from html.parser import HTMLParser

from django.contrib.messages import get_messages


def text(response) -> str:
    """The page as a person reads it: tags gone, entities decoded, spaces collapsed."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def messages_of(response) -> list[str]:
    """The messages (django.contrib.messages) the response's request left for the person."""
    return [str(message) for message in get_messages(response.wsgi_request)]


class _TextCollector(HTMLParser):
    """The text a person reads inside one element (by tag name), without scripts or styles."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag
        self.depth = 0
        self.skipping = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == self.tag:
            self.depth += 1
        if tag in {"script", "style"}:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag == self.tag and self.depth:
            self.depth -= 1
        if tag in {"script", "style"} and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if self.depth and not self.skipping:
            self.parts.append(data)


def text_of(response, tag: str = "main") -> str:
    """The text inside the page's <tag> elements (its <main> by default), spaces collapsed."""
    collector = _TextCollector(tag)
    collector.feed(response.content.decode())
    return " ".join("".join(collector.parts).split())


def element(response, tag: str) -> str:
    """The raw HTML of the first <tag>…</tag> of the page."""
    match = re.search(rf"<{tag}\b.*?</{tag}>", response.content.decode(), re.S)
    assert match, f"no <{tag}> in the page"
    return match.group(0)
