"""Links between findings: which root cause explains a finding, and the effects each cause explains."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kplanediag.analysis.model import Finding


@dataclass
class Links:
    """Built by the linking pass only. ``caused_by``: a finding's key to its root cause's key (a root is
    never linked); ``effects``: a root's key to the sentences of what it explains, in order found."""

    caused_by: dict[str, str] = field(default_factory=dict)
    effects: dict[str, list[str]] = field(default_factory=dict)

    def add(self, root: Finding, effect: str, explained: Finding | None = None) -> None:
        if explained is not None:
            if explained.key == root.key or explained.key in self.caused_by:
                return
            self.caused_by[explained.key] = self.root_of(root.key)
        sentences = self.effects.setdefault(self.root_of(root.key), [])
        if effect and effect not in sentences:
            sentences.append(effect)

    def root_of(self, key: str) -> str:
        seen = set()
        while key in self.caused_by and key not in seen:
            seen.add(key)
            key = self.caused_by[key]
        return key

    def of(self, root: Finding | None) -> tuple[str, ...]:
        return tuple(self.effects.get(root.key, ())) if root is not None else ()

    def apply(self, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        """The findings with ``caused_by`` set where a cause explains them."""
        return tuple(replace(f, caused_by=self.root_of(f.key)) if f.key in self.caused_by else f for f in findings)
