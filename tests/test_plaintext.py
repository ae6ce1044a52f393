"""Feed HTML becomes the text a browser shows; an admin's phrase fits inside a sentence."""

from __future__ import annotations

import pytest

from broadcaster.plaintext import (
    clause,
    feed_summary,
    feed_title,
    html_to_text,
    without_boilerplate,
)


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        # prose with < and > is prose: a browser shows it, so nothing is deleted
        (
            "HIFU: downtime <1 day and results that last >6 months",
            "HIFU: downtime <1 day and results that last >6 months",
        ),
        ("x < y and y > z", "x < y and y > z"),
        # entities are decoded once: &amp;lt; is the text "&lt;"
        ("Botox &amp; fillers &lt;1 week", "Botox & fillers <1 week"),
        ("&amp;lt;b&amp;gt; is a tag", "&lt;b&gt; is a tag"),
        ("It&#8217;s &#x1f48b; &ndash; 2&nbsp;ml", "It’s 💋 – 2\xa0ml"),
        # inline tags add no space; white space collapses as a browser collapses it
        ("<a href='x'>Glow</a>.", "Glow."),
        ("<strong>HIFU</strong>: <em>one</em>   session\n\t today", "HIFU: one session today"),
        ("Ortho<b>dox</b>", "Orthodox"),
        # blocks are lines; a paragraph is set off by a blank line
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("Line<br>break<br/>again", "Line\nbreak\nagain"),
        ("<ul><li>Orchard</li><li>Tampines</li></ul>", "Orchard\nTampines"),
        ("<h2>In short</h2><div>Reapply</div>", "In short\nReapply"),
        ("<p>a</p><p>&nbsp;</p><p></p><p>b</p>", "a\n\nb"),
        ("  <p>  padded  </p>  ", "padded"),
        # what a browser never shows
        ("a<!-- editor note -->b", "ab"),
        ("a<script>alert(1)</script><style>p{}</style>b", "ab"),
        # scripts other than Latin pass through untouched
        ("<p>中秋节 &amp; 健康</p><p>தோல் பராமரிப்பு</p>", "中秋节 & 健康\n\nதோல் பராமரிப்பு"),
        # text that bs4 would take for a locator is still text (and raises no warning)
        ("https://www.glow-aesthetics.example/blog/", "https://www.glow-aesthetics.example/blog/"),
        ("index.html", "index.html"),
        ("", ""),
    ],
)
def test_html_becomes_what_a_browser_shows(html: str, shown: str) -> None:
    assert html_to_text(html) == shown


def test_deeply_nested_html_does_not_overflow_the_stack() -> None:
    assert html_to_text("<span>" * 5000 + "deep" + "</span>" * 5000) == "deep"


@pytest.mark.parametrize(
    "text",
    [
        "Closed for our team day",
        "  padded \t\n  on both sides \r\n",
        "downtime >6 months",
        "line one\n\nline two\n\n\n\nline three",
        "no-break\xa0space and a form\x0cfeed",
        "",
    ],
)
def test_text_without_markup_reads_as_the_parser_reads_it(text: str) -> None:
    """Such text skips the HTML parser; an empty inline tag makes the parser read it."""
    assert html_to_text(text) == html_to_text(text + "<b></b>")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Do fillers dry your lips? […]\n\n"
            "The post Lip Fillers & Hydration appeared first on Glow Aesthetics.",
            "Do fillers dry your lips?",
        ),
        ("Do fillers dry your lips? […]", "Do fillers dry your lips?"),
        ("here’s what our doctors say […]", "here’s what our doctors say…"),
        ("less sugar, more water [...]", "less sugar, more water…"),
        ("Reapply often.\n\nContinue reading →", "Reapply often."),
        ("Reapply often. (more…)", "Reapply often."),
        ("Read on …", "Read on …"),  # the author's own words stay
    ],
)
def test_blog_boilerplate_is_dropped(text: str, kept: str) -> None:
    assert without_boilerplate(text) == kept


def test_wordpress_excerpt_with_its_footer_and_more_link() -> None:
    summary = (
        "<p>Do fillers dry your lips? [&#8230;]</p>\n"
        '<p>The post <a rel="nofollow" href="https://x.example/p">Lips</a> appeared first on '
        '<a rel="nofollow" href="https://x.example">Glow</a>.</p>'
    )
    assert feed_summary(summary) == "Do fillers dry your lips?"
    more = (
        "<p>Reapply every 2 hours.</p>"
        '<p class="link-more"><a href="https://x.example/p" class="more-link">Continue reading'
        '<span class="screen-reader-text"> "Sunscreen"</span></a></p>'
    )
    assert feed_summary(more) == "Reapply every 2 hours."


@pytest.mark.parametrize(
    ("value", "content_type", "title"),
    [
        (
            "Lip Fillers &amp; Hydration: <em>5 Myths</em>",
            "text/html",
            "Lip Fillers & Hydration: 5 Myths",
        ),
        ("A <1 day & <em>x</em>", "text/plain", "A <1 day & <em>x</em>"),
        ("Sunscreen &amp; <em>SPF</em>", "application/xhtml+xml", "Sunscreen & SPF"),
        ("One<br>line", "text/html", "One line"),  # a title is always one line
        ("  spaced \n out  ", "text/plain", "spaced out"),
    ],
)
def test_titles_are_one_line_of_text_whatever_their_type(
    value: str, content_type: str, title: str
) -> None:
    assert feed_title(value, content_type) == title


@pytest.mark.parametrize(
    ("reason", "inside"),
    [
        ("Good Friday", "Good Friday"),
        ("Good Friday.", "Good Friday"),
        ("Good Friday. ", "Good Friday"),
        ("renovation...", "renovation"),
        ("renovation…", "renovation"),
        ("National Day!", "National Day"),
        ("staff training (phase 2)", "staff training (phase 2)"),
        ("Dr. Tan’s talk", "Dr. Tan’s talk"),
        (".", ""),
        ("耶稣受难日。", "耶稣受难日"),  # Chinese full stop
        ("国庆日！", "国庆日"),
        ("Hari Kebangsaan.", "Hari Kebangsaan"),
        ("தேசிய தினம்.", "தேசிய தினம்"),
    ],
)
def test_a_reason_loses_the_punctuation_its_sentence_supplies(reason: str, inside: str) -> None:
    assert clause(reason) == inside


@pytest.mark.parametrize(
    ("typed", "inside"),
    [
        ("年度团队建设活动。", "年度团队建设活动"),  # a Chinese full stop: the template has its own
        ("公众假期！", "公众假期"),
        ("acara pasukan kami.", "acara pasukan kami"),
        ("குழு நிகழ்வு.", "குழு நிகழ்வு"),
    ],
)
def test_a_clause_in_any_language_loses_its_own_full_stop(typed: str, inside: str) -> None:
    assert clause(typed) == inside
