"""The validation checklist: every check's outcome, rendered for a PR comment or a terminal.

A check never raises to say "bad": it records a :class:`Check`. ``unverified``
means the Hub could not be reached (an outage is not the author's fault) and,
like ``fail``, keeps the PR from being ready; ``warn`` does not.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from enum import StrEnum

from rich.console import Console
from rich.markup import escape

COMMENT_MARKER = "<!-- shlepa-validation -->"


class Outcome(StrEnum):
    passed = "pass"
    failed = "fail"
    warning = "warn"
    unverified = "unverified"


_ICON = {
    Outcome.passed: "✅",
    Outcome.failed: "❌",
    Outcome.warning: "⚠️",
    Outcome.unverified: "❔",
}
_RICH = {
    Outcome.passed: "[green]✓[/]",
    Outcome.failed: "[red]✗[/]",
    Outcome.warning: "[yellow]![/]",
    Outcome.unverified: "[magenta]?[/]",
}


@dataclass(frozen=True)
class Check:
    """One line of the checklist: which check, on which file, and how to fix it."""

    name: str
    status: Outcome
    message: str
    file: str = ""
    how_to_fix: str = ""

    @property
    def blocking(self) -> bool:
        return self.status in (Outcome.failed, Outcome.unverified)

    def line(self) -> str:
        """Plain one-line form: ``file: check: message; fix: ...``."""
        where = f"{self.file}: " if self.file else ""
        fix = f" (fix: {self.how_to_fix})" if self.how_to_fix and self.status != Outcome.passed else ""
        return f"{where}{self.name}: {self.message}{fix}"


@dataclass(frozen=True)
class Link:
    """Where a checked request can be followed once merged (its queue-page entry)."""

    file: str
    label: str
    url: str


@dataclass
class Checklist:
    checks: list[Check] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def add(self, check: Check) -> None:
        self.checks.append(check)

    @property
    def ok(self) -> bool:
        return not any(c.blocking for c in self.checks)

    def by(self, status: Outcome) -> list[Check]:
        return [c for c in self.checks if c.status == status]

    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status != Outcome.passed]

    def summary(self) -> str:
        n = {s: len(self.by(s)) for s in Outcome}
        parts = [f"{n[Outcome.passed]} passed", f"{n[Outcome.failed]} failed"]
        if n[Outcome.warning]:
            parts.append(f"{n[Outcome.warning]} warning(s)")
        if n[Outcome.unverified]:
            parts.append(f"{n[Outcome.unverified]} could not be verified")
        return ", ".join(parts)

    def to_markdown(self, title: str = "Submission checks") -> str:
        """Markdown for the job summary and the PR comment; untrusted text is HTML-escaped."""
        if not self.checks:
            verdict = "ℹ️ No request files to check."
        elif self.ok:
            verdict = "✅ **Ready to merge**: every check passed."
        elif self.by(Outcome.failed):
            verdict = "❌ **Changes needed**: fix the items marked ❌ and push again."
        else:
            verdict = (
                "❔ **Could not verify** some checks because the Hugging Face Hub did not answer; "
                "this is not your fault. Push again or ask a maintainer to re-run the workflow."
            )
        lines = [COMMENT_MARKER, f"## {html.escape(title)}", "", verdict, "", self.summary(), ""]
        order = [Outcome.failed, Outcome.unverified, Outcome.warning, Outcome.passed]
        for check in sorted(self.checks, key=lambda c: order.index(c.status)):
            where = f"`{_code(check.file)}` " if check.file else ""
            item = f"- {_ICON[check.status]} {where}**{_md(check.name)}**: {_md(check.message)}"
            if check.how_to_fix and check.status != Outcome.passed:
                item += f"<br>How to fix: {_md(check.how_to_fix)}"
            lines.append(item)
        if self.links:
            lines += ["", "After merge, follow the evaluation on the queue page:"]
            lines += [f"- [{_md(link.label)}]({_url(link.url)})" for link in self.links]
        return "\n".join(lines) + "\n"

    def print(self, console: Console, verbose: bool = False) -> None:
        for check in self.checks:
            if check.status == Outcome.passed and not verbose:
                continue
            console.print(f"{_RICH[check.status]} {escape(check.line())}", soft_wrap=True, highlight=False)
        style = "green" if self.ok else "red"
        console.print(f"[{style}]{escape(self.summary())}[/]", highlight=False)


def _md(text: str) -> str:
    """Escape HTML and the Markdown characters that could forge links, images or mentions."""
    out = html.escape(" ".join(str(text).split()), quote=True)
    for ch in "\\`*_[]<>!|":
        out = out.replace(ch, "\\" + ch)
    return out.replace("@", "@\u200b")


def _url(url: str) -> str:
    """A link target: only http(s), and nothing that could end the Markdown link early."""
    if not url.startswith(("https://", "http://")):
        return "#"
    return "".join(c if c.isascii() and c.isprintable() and c not in " ()<>[]`\"'" else f"%{ord(c):02X}" for c in url)


def _code(text: str) -> str:
    return html.escape(str(text).replace("`", "'").replace("\n", " "), quote=True)


__all__ = ["COMMENT_MARKER", "Check", "Checklist", "Link", "Outcome"]
