"""Write tests/reference/corpus.json: the hard cases every counter and link finder must agree on.

Run ``python tests/reference/make_corpus.py`` after changing the pieces below; the JSON file
is committed so that a failing case can be read (and quoted) without running anything.
Each case is ``{"text", "links", "why"}``: ``links`` are the URLs the writer meant, in order,
as they appear in the text -- the spans a Bluesky link facet must cover exactly.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

PROSE = {
    "english": "Our clinic is closed on Good Friday; we reopen on Monday at 10am.",
    "malay": "Klinik kami ditutup pada Hari Raya Aidilfitri, dibuka semula pada hari Isnin.",
    "tamil": "எங்கள் கிளினிக் தைப்பூசம் அன்று மூடப்பட்டிருக்கும், க்ஷேத்திரம் ஸ்ரீ.",
    "chinese": "诊所将于三月二十六日至二十七日休息，三月二十八日恢复营业。",
    "traditional": "診所將於農曆新年休息，敬請見諒。",
    "japanese": "クリニックは祝日のため休診です。ご了承ください。",
    "korean": "클리닉은 설날 연휴 동안 휴무입니다.",
    "accents": "Cafe\u0301 cre\u0300me bru\u0302le\u0301e, Tie\u0302\u0301ng Vie\u0323\u0302t, naïve façade.",
    "arabic": "العيادة مغلقة يوم الجمعة.",
    "emoji": "We 💖 our team 👩‍⚕️👨🏽‍⚕️ and families 👩‍👩‍👧‍👦 from 🇸🇬 🇲🇾 🏳️‍🌈 🏴󠁧󠁢󠁳󠁣󠁴󠁿 1️⃣ ✌🏿 🫠 ❤ ©",
    "symbols": "Dr Tan – “downtime <1 day” → results >6 months … ½ price ™",
}

URLS = {
    "plain": "https://glowaesthetics.sg/notices/2025/good-friday",
    "www": "https://www.glow-aesthetics.sg/blog/botox-depression/",
    "bare": "glowaesthetics.sg",
    "bare-path": "example.com/x",
    "bare-www": "www.glowaesthetics.sg/about",
    "tco": "t.co/abc",
    "tco-scheme": "https://t.co/abc123XYZ",
    "upper": "HTTPS://GLOWAESTHETICS.SG/HOURS",
    "mixed": "Http://Example.com/Mixed/Case",
    "parens": "https://en.wikipedia.org/wiki/Botulinum_toxin_(medicine)",
    "query": "https://example.com/search?q=botox&lang=en#top",
    "port": "https://glowaesthetics.sg:8443/book",
    "zh": "https://glowaesthetics.sg/zh/notice",
    "accented": "https://fr.example.com/café-crème",
    "hyphen-bare": "glow-aesthetics.com.sg/team",
}

#: how a writer puts a URL into a sentence: (before, after)
SETTINGS = {
    "alone": ("", ""),
    "sentence": ("Read more at ", "."),
    "comma": ("See ", ", then call us."),
    "parens": ("(details: ", ")"),
    "quotes": ("The “", "” page"),
    "closing-quote": ("Team day: ", "” said Dr Tan"),
    "cjk": ("详情请见 ", "。我们将于周一恢复营业。"),
    "corner": ("「", "」をご覧ください"),
    "exclaim": ("Book now: ", "!"),
    "ellipsis": ("Soon at ", "..."),
    "colon": ("Link ", ": open it"),
    "angle": ("<", ">"),
    "single-quote": ("'", "'"),
    "question": ("Have you seen ", "?"),
}

HASHTAGS = [
    "#TeamDay",
    "#健康",
    "#SkinCare2025",
    "#1",
    "#TeamDay!",
    "＃全角タグ",
    "#glow_aesthetics",
    "#café",
    "#Cafe\u0301",
    "a#notatag",
    "#️⃣",
    "#Hari_Raya",
    "#ஆரோக்கியம்",
    "#100",
]
MENTIONS = [
    "@ann@mastodon.social",
    "@clinic",
    "@dr.tan@glow.social",
    "write to ann@example.com",
    "@ann@mastodon.social, @bob@example.org!",
    "cc @glowaesthetics.bsky.social",
]
#: one grapheme each, of different weights and sizes, to build texts at and past each limit
FILLERS = {
    "ascii": "a",
    "cjk": "診",
    "emoji": "😀",
    "family": "👩‍👩‍👧‍👦",
    "flag": "🇸🇬",
    "accent": "e\u0301",
    "tamil": "க்ஷ",
    "skin": "👋🏽",
}
LIMITS = {"x": 280, "bluesky": 300, "mastodon": 500}


def case(text: str, links: list[str], why: str) -> dict[str, Any]:
    return {"text": text, "links": links, "why": why}


def urls_in_settings() -> list[dict[str, Any]]:
    cases = []
    for (name, url), (setting, (before, after)) in itertools.product(
        URLS.items(), SETTINGS.items()
    ):
        cases.append(case(f"{before}{url}{after}", [url], f"url {name} in setting {setting}"))
    return cases


def prose_with_links() -> list[dict[str, Any]]:
    cases = []
    urls = list(URLS.values())
    for i, (name, prose) in enumerate(PROSE.items()):
        cases.append(case(prose, [], f"prose {name}"))
        url = urls[i % len(urls)]
        cases.append(case(f"{prose} {url}", [url], f"prose {name} then a url"))
        other = urls[(i + 5) % len(urls)]
        cases.append(case(f"{url} {prose} {other}", [url, other], f"prose {name} between urls"))
    return cases


def tags_and_mentions() -> list[dict[str, Any]]:
    cases = [case(f"Happy {tag} from us", [], f"hashtag {tag}") for tag in HASHTAGS]
    cases += [case(f"Thanks {m} for the photos", [], f"mention {m}") for m in MENTIONS]
    url = URLS["plain"]
    cases.append(case(f"#TeamDay {url} @ann@mastodon.social #健康", [url], "tag, url, mention"))
    return cases


def at_the_limits() -> list[dict[str, Any]]:
    """Texts one below, at and one past each platform's limit, in each kind of grapheme."""
    cases = []
    for (platform, limit), (kind, grapheme) in itertools.product(LIMITS.items(), FILLERS.items()):
        for n in (limit - 1, limit, limit + 1):
            cases.append(case(grapheme * n, [], f"{n} x {kind} ({platform} limit {limit})"))
        words = (grapheme * 9 + " ") * (limit // 10)
        cases.append(case(words.strip(), [], f"words of {kind} up to the {platform} limit"))
    for platform, limit in LIMITS.items():
        for url in (URLS["plain"], URLS["bare"], URLS["parens"]):
            pad = "a" * (limit - 24)
            cases.append(case(f"{pad} {url}", [url], f"{platform} limit with a url counted 23"))
            cases.append(case(f"{pad}b {url}", [url], f"{platform} limit + 1 with a url"))
    return cases


def hand_written() -> list[dict[str, Any]]:
    long_url = "https://glowaesthetics.sg/track?" + "&".join(
        f"utm_{i}=campaign{i}" for i in range(30)
    )
    return [
        case(
            "HIFU: downtime <1 day and results that last >6 months", [], "angle brackets in prose"
        ),
        case(
            "Closed 26–27 Mar. Details: glowaesthetics.sg/closures or call +65 6123 4567.",
            ["glowaesthetics.sg/closures"],
            "bare domain with a path, full stop after",
        ),
        case(
            "Botox and mood: https://en.wikipedia.org/wiki/Botulinum_toxin_(medicine), and more.",
            ["https://en.wikipedia.org/wiki/Botulinum_toxin_(medicine)"],
            "balanced parentheses followed by a comma",
        ),
        case(
            "(see https://en.wikipedia.org/wiki/Botulinum_toxin_(medicine))",
            ["https://en.wikipedia.org/wiki/Botulinum_toxin_(medicine)"],
            "balanced parentheses inside parentheses",
        ),
        case("Too long to tap: " + long_url, [long_url], "a url longer than Bluesky's limit"),
        case(
            "Line one\nhttps://glowaesthetics.sg/a\r\nline three",
            ["https://glowaesthetics.sg/a"],
            "line breaks",
        ),
        case("Tab\thttps://glowaesthetics.sg/tab\tend", ["https://glowaesthetics.sg/tab"], "tabs"),
        case(
            "Two: https://a.glowaesthetics.sg/x https://b.glowaesthetics.sg/y",
            ["https://a.glowaesthetics.sg/x", "https://b.glowaesthetics.sg/y"],
            "two urls",
        ),
        case(
            "Invisible\u200bspace https://glowaesthetics.sg/zw",
            ["https://glowaesthetics.sg/zw"],
            "zero-width space",
        ),
        case("BOM \ufeff inside", [], "a byte order mark (X refuses it)"),
        case("", [], "empty"),
        case(" ", [], "one space"),
        case("診" * 140, [], "140 CJK: exactly X's 280"),
        case("診" * 141, [], "141 CJK: one past X's 280"),
        case("a" * 256 + " " + URLS["plain"], [URLS["plain"]], "256 + 1 + url: exactly 280 on X"),
        case("a" * 257 + " " + URLS["plain"], [URLS["plain"]], "281 on X"),
        case(
            "Price 50% off! 🎉🎉🎉 Book: glowaesthetics.sg",
            ["glowaesthetics.sg"],
            "emoji before a bare domain",
        ),
        case("Email hello@glowaesthetics.sg for bookings", [], "an email address is not a link"),
        case("Version 1.2.3 and No.1 and e.g. Dr.Tan", [], "dots that are not domains"),
        case("Ａ full-width ＡＢＣ text ｈｔｔｐｓ：／／ｘ", [], "full-width letters"),
    ]


def main() -> None:
    cases = urls_in_settings() + prose_with_links() + tags_and_mentions() + at_the_limits()
    cases += hand_written()
    (HERE / "corpus.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
