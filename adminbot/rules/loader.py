"""The rule set a configuration asks for: built-ins plus its [[rules]], minus disabled ones."""

from __future__ import annotations

from adminbot.config import Config
from adminbot.errors import ConfigError
from adminbot.rules.ruleset import RuleSet, build_ruleset, rule_from_table


def load_ruleset(config: Config) -> RuleSet:
    """Built-in rules plus the config's [[rules]], minus disabled ones and with policies."""
    custom = []
    for index, table in enumerate(config.rules):
        try:
            custom.append(rule_from_table(table, index))
        except ConfigError as exc:
            raise ConfigError(exc.key, exc.message, config.source) from None
    return build_ruleset(custom, config.disabled_rules)
