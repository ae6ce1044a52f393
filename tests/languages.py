"""The example project in the four languages of a Singapore clinic, for the tests of what
each channel does with them. The Chinese wording is the test's own template, so the tests
hold whatever the built-in translations say."""

from __future__ import annotations

from pathlib import Path

LANGUAGES = ["en", "zh", "ms", "ta"]
ZH_TEMPLATE = "templates/zh/banner/closure.html"
#: the test's Chinese wording: "closed from ... to ... (reason), open again on ..."
CHINESE = "<p>本诊所{{ start|day }}至{{ end|day }}暂停营业（{{ reason }}），{{ resume|day }}恢复营业。</p>\n"
CHINESE_REASON = "年度团队建设活动"


#: the example config's line that lists its languages
EXAMPLE_LANGUAGES = "  languages: [en, zh, ms, ta]"


def with_site_languages(text: str, languages: str) -> str:
    """The example config's text with ``site.languages`` set to ``languages`` (``[en, ja]``)."""
    assert EXAMPLE_LANGUAGES in text
    return text.replace(EXAMPLE_LANGUAGES, f"  languages: {languages}", 1)


def in_four_languages(project: Path, zh_template: str | None = CHINESE) -> None:
    """The example project (``site.languages: [en, zh, ms, ta]`` in Singapore, the closure's
    reason in each) with, unless None, a Chinese banner template of the test's own."""
    text = (project / "config/broadcaster.yaml").read_text(encoding="utf-8")
    assert EXAMPLE_LANGUAGES in text and f'zh: "{CHINESE_REASON}"' in text
    if zh_template is not None:
        (project / ZH_TEMPLATE).parent.mkdir(parents=True, exist_ok=True)
        (project / ZH_TEMPLATE).write_text(zh_template, encoding="utf-8")


def english_only(project: Path) -> None:
    """The example project as a clinic writing English alone: for the tests of what does not
    depend on languages (a closure's life, publishing), which read one message per channel."""
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    for texts, english in (
        ("reason:", "our annual team bonding event"),
        ("- title:", "Can Botox Treat Depression? Here’s the Science"),
        ("summary:", "How relaxing the frown muscles may lift mood."),
    ):
        start = text.index(f"{texts}", text.index(english) - 200)
        end = text.index("\n", text.index('ta: "', start))
        text = text[:start] + f'{texts} "{english}"' + text[end:]
    text = text.replace(EXAMPLE_LANGUAGES, "  languages: [en]", 1)
    config.write_text(text, encoding="utf-8")
    (project / "config/subscribers.csv").write_text(
        "\n".join(
            line.rsplit(",", 1)[0]
            for line in (project / "config/subscribers.csv")
            .read_text(encoding="utf-8")
            .splitlines()
        )
        + "\n",
        encoding="utf-8",
    )
