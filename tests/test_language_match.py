"""Which of the site's languages a person reads, from a list's ``language`` cell, a form's
choice or a browser's ``Accept-Language``: one row per way people and tools write it."""

from __future__ import annotations

import pytest
from babel import Locale

from broadcaster.language_match import LanguageMatch

SITE = ("en", "zh", "ms", "ta")


@pytest.mark.parametrize(
    ("written", "reads"),
    [
        # BCP 47 tags, any case, either separator, with region and script subtags
        ("zh", "zh"),
        ("ZH", "zh"),
        ("zh-SG", "zh"),
        ("zh_Hans", "zh"),
        ("zh-Hant-TW", "zh"),
        ("ms_MY", "ms"),
        ("ta-SG", "ta"),
        (" en-GB ", "en"),
        # ISO 639-2/3 codes, through CLDR's aliases
        ("zho", "zh"),
        ("cmn", "zh"),
        ("msa", "ms"),
        ("zsm", "ms"),
        ("tam", "ta"),
        ("eng", "en"),
        # names, in English or in the language itself, whole or as a word of a longer name
        ("Chinese", "zh"),
        ("中文", "zh"),
        ("Simplified Chinese", "zh"),
        ("Chinese (Simplified)", "zh"),
        ("简体中文", "zh"),
        ("Malay", "ms"),
        ("Bahasa Melayu", "ms"),
        ("MELAYU", "ms"),
        ("Tamil", "ta"),
        ("தமிழ்", "ta"),
        ("English (UK)", "en"),
        ("Inggeris", "en"),  # English, in Malay
        # nothing, or a language the site does not have: the default
        ("", "en"),
        ("fr", "en"),
        ("French", "en"),
        ("und", "en"),
        ("in", "en"),  # Indonesian's old code, not English's preposition
        ("x", "en"),
        ("?", "en"),
    ],
)
def test_a_written_language_is_one_of_the_sites(written: str, reads: str) -> None:
    assert LanguageMatch(SITE).of(written) == reads


def test_names_come_from_cldr() -> None:
    """Every name Babel gives a site language, in English and in each site language, is it."""
    match = LanguageMatch(SITE)
    for language in SITE:
        for naming in ("en", *SITE):
            name = Locale.parse(language).get_display_name(Locale.parse(naming))
            assert name is not None
            assert match.of(name) == language, (naming, name)


def test_a_tag_the_site_has_exactly_wins_over_its_primary_language() -> None:
    match = LanguageMatch(("en", "zh", "zh-Hant"))
    assert match.of("zh_hant") == "zh-Hant"
    assert match.of("zh-TW") == "zh"  # only the primary subtag is compared
    assert match.of("zh-Hans-SG") == "zh"


def test_a_site_in_one_other_language_sends_the_rest_that_one() -> None:
    match = LanguageMatch(("zh", "en"))
    assert match.of("") == "zh"
    assert match.of("Deutsch") == "zh"
    assert match.of("English") == "en"


@pytest.mark.parametrize(
    ("header", "best"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),  # Chrome set to Chinese
        ("en-US,en;q=0.9", "en"),
        ("ms-MY,ms;q=0.9,en-US;q=0.8,en;q=0.7", "ms"),
        ("fr-CH, fr;q=0.9, ta;q=0.8, en;q=0.7, *;q=0.5", "ta"),  # RFC 9110's example, adapted
        ("en;q=0.5, zh-SG;q=0.8", "zh"),  # by weight, not by order
        ("ta;q=0, en", "en"),  # q=0: not acceptable
        ("de-DE", "en"),
        ("*", "en"),
        ("", "en"),
        ("zh;q=abc, ms", "ms"),  # an unreadable weight counts as none
    ],
)
def test_a_browser_gets_its_best_language_of_the_sites(header: str, best: str) -> None:
    assert LanguageMatch(SITE).best_for(header) == best


def test_a_name_is_no_tag() -> None:
    """A form posts a code: a name or a stray value there is no choice at all."""
    match = LanguageMatch(SITE)
    assert match.tag("zh") == "zh"
    assert match.tag("Chinese") is None
    assert match.tag("zh<script>") is None
