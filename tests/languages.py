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


def in_four_languages(project: Path, zh_template: str | None = CHINESE) -> None:
    """The example config with ``site.languages: [en, zh, ms, ta]`` in Singapore, the
    closure's reason also in Chinese, and (unless None) a Chinese banner template."""
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    outlets = '  outlets: ["Orchard", "Tampines"]\n'
    assert outlets in text
    text = text.replace(outlets, f"{outlets}  languages: [{', '.join(LANGUAGES)}]\n  region: SG\n")
    reason = 'reason: "our annual team bonding event"'
    assert reason in text
    text = text.replace(
        reason, f'reason: {{en: "our annual team bonding event", zh: "{CHINESE_REASON}"}}'
    )
    config.write_text(text, encoding="utf-8")
    if zh_template is not None:
        (project / ZH_TEMPLATE).parent.mkdir(parents=True, exist_ok=True)
        (project / ZH_TEMPLATE).write_text(zh_template, encoding="utf-8")
