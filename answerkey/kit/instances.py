"""What a network and a mini-batch share: the verifier's `Instance` at concrete sizes, made
from the model's definitions and its loss's assumptions on the targets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Instance


class Instantiable:
    """A model with `definitions(leaf)` and `target_assumptions(sizes)` gets `instance`."""

    def definitions(self, leaf: str | None = None) -> dict[Any, Any]:
        raise NotImplementedError

    def target_assumptions(self, sizes: Mapping[Any, int]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The loss's assumptions on the targets at these sizes: (given, domain)."""
        raise NotImplementedError

    def instance(
        self,
        sizes: Mapping[Any, int],
        leaf: str | None = None,
        label: str = "",
        prove: bool = True,
        extra: Mapping[Any, Any] | None = None,
        domain: Mapping[str, tuple[float, float]] | None = None,
    ) -> Instance:
        """The verifier's `Instance` at these sizes (see `definitions` for `leaf`);
        `extra` adds definitions (a penalty, a quantity of the exercise's own), `domain`
        sets inputs' random ranges (``{"t": (0, 0.5)}``) over the loss's defaults."""
        given, default = self.target_assumptions(sizes)
        return Instance(
            sizes=dict(sizes),
            defs={**self.definitions(leaf), **dict(extra or {})},
            given=given,
            domain={**default, **dict(domain or {})},
            label=label or ", ".join(f"{s} = {v}" for s, v in sizes.items()),
            prove=prove,
        )
