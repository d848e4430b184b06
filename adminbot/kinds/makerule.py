"""Make a rule of a kind: draft it, preview it, and on confirmation put it in force.

The admin taps "Make rule" on a new kind's alert and gets a `Proposal` and its
`Preview`; the confirmation carries the proposal's digest, so it makes exactly the
rule that was shown, or nothing when the kind or the rules changed since. A made
rule is stored (it is loaded again at start), put in force at once (`RuleSource`),
and the kind is marked ruled so its lines are no longer mined as new.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from adminbot.clock import Clock, utcnow
from adminbot.errors import ConfigError
from adminbot.kinds.draft import DraftError, Preview, Proposal, Seen, draft, preview
from adminbot.kinds.miner import KindMiner
from adminbot.models import Severity
from adminbot.rules.builtin import BUILTIN, NUEVO_TIPO
from adminbot.rules.loader import NAME_RE, rule_from_table
from adminbot.rules.source import RuleSource
from adminbot.rules.spec import RuleSpec
from adminbot.store.kinds import Kind, KindState, KindStore
from adminbot.store.sqlincidents import MAX_OCCURRENCES
from adminbot.store.sqlite import Store
from adminbot.store.userrules import UserRule, UserRuleStore

logger = logging.getLogger(__name__)

PREVIEW_WINDOW = timedelta(hours=24)
PREVIEW_INCIDENTS = 200


class Refusal(StrEnum):
    """Why no rule was drafted or made."""

    NO_KIND = "no_kind"
    DECIDED = "decided"
    """The admin already made a rule of the kind or ignored it."""
    UNDRAFTABLE = "undraftable"
    STALE = "stale"
    """The confirmation is not for the rule a fresh draft gives now."""
    BAD_NAME = "bad_name"
    NAME_TAKEN = "name_taken"
    BAD_PATTERN = "bad_pattern"
    MISSES_SAMPLE = "misses_sample"
    """An edited pattern that does not match every sample of its kind."""


@dataclass(frozen=True, slots=True)
class Edit:
    """A rule as a person edited it from the proposal, before it is checked."""

    name: str
    pattern: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class Draft:
    """A proposal and its preview, or why there is none."""

    proposal: Proposal | None
    preview: Preview | None
    refusal: Refusal | None = None
    detail: str = ""
    """What was wrong with an edited rule (the regex error, the sample missed)."""


@dataclass(frozen=True, slots=True)
class Made:
    """A confirmed rule in force, or why it was not made."""

    spec: RuleSpec | None
    refusal: Refusal | None = None
    detail: str = ""


def spec_of(rule: UserRule) -> RuleSpec:
    """The rule a stored row stands for, checked like a `[[rules]]` table."""
    table = {"name": rule.name, "pattern": rule.pattern, "severity": rule.severity.value}
    return rule_from_table(table, 0, "user_rules")


def stored_specs(rules: UserRuleStore) -> list[RuleSpec]:
    """The stored rules that still load; one that does not is logged and left out."""
    specs: list[RuleSpec] = []
    for rule in rules.all():
        try:
            specs.append(spec_of(rule))
        except ConfigError as exc:
            logger.warning("Rule %s made in the chat does not load: %s", rule.name, exc)
    return specs


class RuleMaker:
    """Drafts a rule from a kind, previews it over the store, and makes it on confirmation."""

    def __init__(
        self,
        store: Store,
        kinds: KindStore,
        rules: RuleSource,
        user_rules: UserRuleStore,
        *,
        miner: KindMiner | None = None,
        clock: Clock = utcnow,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self._store = store
        self._kinds = kinds
        self._rules = rules
        self._user_rules = user_rules
        self._miner = miner
        self._clock = clock
        self._severity = severity

    @property
    def severity(self) -> Severity:
        """The severity a drafted rule gets unless a person picks another."""
        return self._severity

    def draft(self, kind_id: int) -> Draft:
        """The rule proposed for a kind and what it would match in the last 24 h."""
        kind = self._kinds.get(kind_id)
        proposal, refusal = self._propose(kind)
        if proposal is None or kind is None:
            return Draft(None, None, refusal)
        return Draft(proposal, preview(proposal, kind.samples, self._seen(), NUEVO_TIPO.name))

    def confirm(self, kind_id: int, digest: str, actor: str) -> Made:
        """Make the rule whose digest was shown, if a fresh draft is still that rule.

        1. Draft again; refuse if the kind was decided or the draft differs (stale).
        2. Store the rule (compare-and-set on its name: a double tap makes it once).
        3. Put it in force and mark the kind ruled.
        """
        proposal, refusal = self._propose(self._kinds.get(kind_id))
        if proposal is None:
            return Made(None, refusal)
        if proposal.digest != digest:
            return Made(None, Refusal.STALE)
        rule = UserRule(proposal.name, proposal.pattern, self._severity, self._clock(), actor)
        return self._put(kind_id, rule)

    def check(self, kind_id: int, edit: Edit) -> Draft:
        """An edited rule checked as a `[[rules]]` table and against its kind's samples,
        with what it would match in the last 24 h (a dry run: nothing is stored).

        1. The kind must still be new; the name free and well formed.
        2. The pattern must load as a rule and not match an empty line.
        3. It must match every sample of the kind, since the kind is then ruled.
        """
        kind = self._kinds.get(kind_id)
        if kind is None:
            return Draft(None, None, Refusal.NO_KIND)
        if kind.state is not KindState.NEW:
            return Draft(None, None, Refusal.DECIDED)
        if not NAME_RE.fullmatch(edit.name):
            return Draft(None, None, Refusal.BAD_NAME)
        if edit.name in self._taken():
            return Draft(None, None, Refusal.NAME_TAKEN)
        try:
            spec_of(UserRule(edit.name, edit.pattern, edit.severity, self._clock(), ""))
        except ConfigError as exc:
            return Draft(None, None, Refusal.BAD_PATTERN, exc.message)
        regex = re.compile(edit.pattern, re.IGNORECASE)
        if regex.search(""):
            return Draft(None, None, Refusal.BAD_PATTERN, "it matches an empty line")
        missed = next((sample for sample in kind.samples if not regex.search(sample)), None)
        if missed is not None:
            return Draft(None, None, Refusal.MISSES_SAMPLE, missed)
        proposal = Proposal(kind.id, edit.name, edit.pattern, kind.template)
        return Draft(proposal, preview(proposal, kind.samples, self._seen(), NUEVO_TIPO.name))

    def make(self, kind_id: int, edit: Edit, actor: str) -> Made:
        """Make an edited rule if it passes `check`, through the same store as `confirm`."""
        checked = self.check(kind_id, edit)
        if checked.proposal is None:
            return Made(None, checked.refusal, checked.detail)
        return self._put(
            kind_id, UserRule(edit.name, edit.pattern, edit.severity, self._clock(), actor)
        )

    def _put(self, kind_id: int, rule: UserRule) -> Made:
        """Store the rule (compare-and-set on its name), put it in force, mark the kind ruled."""
        spec = spec_of(rule)
        if not self._user_rules.add(rule) or not self._rules.add(spec):
            return Made(None, Refusal.STALE)
        if self._miner is not None:
            self._miner.decide(kind_id, KindState.RULED)
        else:
            self._kinds.decide(kind_id, KindState.RULED)
        logger.info(
            "Rule %s made by %s from kind #%d: %s",
            spec.name,
            rule.created_by,
            kind_id,
            spec.pattern,
        )
        return Made(spec)

    def _taken(self) -> set[str]:
        taken = {*self._rules, *(spec.name for spec in BUILTIN)}
        return taken | {spec.name for spec in self._rules.user}

    def _propose(self, kind: Kind | None) -> tuple[Proposal | None, Refusal | None]:
        if kind is None:
            return None, Refusal.NO_KIND
        if kind.state is not KindState.NEW:
            return None, Refusal.DECIDED
        try:
            return draft(kind.id, kind.template, kind.samples, self._taken()), None
        except DraftError as exc:
            logger.info("No rule drafted from kind #%d: %s", kind.id, exc)
            return None, Refusal.UNDRAFTABLE

    def _seen(self) -> list[Seen]:
        """The incidents seen in the last 24 h, each with its stored lines of that period."""
        since: datetime = self._clock() - PREVIEW_WINDOW
        found = self._store.incidents(since=since, limit=PREVIEW_INCIDENTS)
        seen = []
        for incident in found:
            kept = self._store.occurrences(incident.id, limit=MAX_OCCURRENCES)
            lines = tuple(text for at, _, _, text in kept if at >= since)
            seen.append(Seen(incident.id, incident.rule, incident.key, lines))
        return seen
